"""Downlink and status payloads as msgspec types, and the JSON Schemas published from them.

``edge/schemas/*.json`` are generated from these types (``python -m edge.messages``; a test
fails when a file is stale). The roster's types live in :mod:`edge.roster`. Offers, rules and
remote config belong to the parts that consume them (signage, operations): they add their type
to :data:`SCHEMA_TYPES` here and register a route (:mod:`edge.router`) through their ports.
The one withdrawal decoder is :func:`decode_withdraw`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from edge import jsonschema
from edge.checkin.proof import RedemptionCode, Region
from edge.roster import _Roster
from edge.unknown import decode_noting, note_fields

Token = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


class Withdraw(msgspec.Struct, forbid_unknown_fields=False):
    """``cdp/v1/{store}/consent/withdraw``: the shopper's consent is withdrawn, effective at once."""

    token: Token


class Checkin(msgspec.Struct, forbid_unknown_fields=False, omit_defaults=True):
    """``cdp/v1/{store}/checkin``, one of two forms.

    Camera form ``{"token", "screen"}``: a shopper asks the camera beside ``screen`` to verify them
    (edge.vision).

    Presence form ``{"token", "event", "region", "zone"?, "code"?, "issued_at", "expires_at", "nonce", "sig"}``:
    the app saw the store's iBeacon region; the CDP signed the proof (``sig``: base64 Ed25519 over the
    object without ``sig``, keys sorted, no spaces, UTF-8) and the gateway makes it presence with
    ``via: "app"`` (edge.checkin). Any of ``event``, ``region``, ``issued_at``, ``expires_at``,
    ``nonce``, ``sig`` makes it the presence form."""

    token: Token
    screen: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    event: Literal["enter", "refresh", "exit"] | None = None
    region: Region | None = None
    zone: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    code: RedemptionCode | None = None
    """A redemption code a screen showed, entered or scanned in the app: ``edge.offer.redeemed`` if
    this gateway showed it to this shopper (edge.signage.measure)."""
    issued_at: Annotated[str, msgspec.Meta(min_length=10, max_length=40)] | None = None
    """RFC 3339 with an offset; judged by the gateway's clock."""
    expires_at: Annotated[str, msgspec.Meta(min_length=10, max_length=40)] | None = None
    """RFC 3339; at most 900 s after ``issued_at``."""
    nonce: Annotated[str, msgspec.Meta(min_length=8, max_length=128)] | None = None
    """Accepted once."""
    sig: Annotated[str, msgspec.Meta(min_length=1, max_length=128)] | None = None


CHECKIN_FORMS: list[dict[str, Any]] = [
    {"title": "camera", "required": ["token", "screen"]},
    {"title": "presence", "required": ["token", "event", "region", "issued_at", "expires_at", "nonce", "sig"]},
]
"""The two forms of a check-in, as the schema's ``anyOf`` (msgspec has no untagged struct unions)."""


Sequence = Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]
"""An event's ``sequence``: from 1, stored as SQLite's signed 64-bit INTEGER."""


class Replay(msgspec.Struct, forbid_unknown_fields=False):
    """``cdp/v1/{store}/{gateway}/replay``: the CDP saw a ``sequence`` gap and asks again for the kept
    rows from ``from_sequence`` to ``to_sequence`` (inclusive; none: the newest), republished with
    their original ``id``, body and ``sequence`` (at most :data:`~edge.constants.REPLAY_ROWS_MAX`)."""

    from_sequence: Sequence
    to_sequence: Sequence | None = None


class Status(msgspec.Struct, forbid_unknown_fields=False, omit_defaults=True):
    """``edge/v1/{store}/{gateway}/status`` (retained): birth ``online``, last will ``offline``.

    ``session`` grows by one per connection (Sparkplug's bdSeq): a consumer ignores an
    ``offline`` whose session is lower than the last ``online`` it saw, so a late last will of an
    old connection cannot mark a live gateway offline."""

    state: Literal["online", "offline"]
    session: int
    version: str
    gateway: str
    health: dict[str, int] = msgspec.field(default_factory=dict)


def decode_withdraw(payload: bytes) -> Withdraw:
    """A withdrawal, its unknown fields named once in the log (:mod:`edge.unknown`); raises
    :class:`msgspec.DecodeError`."""
    withdraw: Withdraw = decode_noting("withdraw", payload, Withdraw)
    return withdraw


def note_checkin(payload: bytes) -> None:
    """Name the unknown fields of a check-in once in the log; its handler (edge.vision) decodes
    and validates it, so a malformed one is left to that handler here."""
    try:
        raw = msgspec.json.decode(payload)
    except msgspec.DecodeError:
        return
    note_fields("checkin", Checkin, raw)


class AnyObject(msgspec.Struct, forbid_unknown_fields=False):
    """Placeholder for topics whose owner has not published a schema yet (offers, rules, config)."""


SCHEMA_TYPES: dict[str, Any] = {
    "roster": _Roster,
    "withdraw": Withdraw,
    "checkin": Checkin,
    "status": Status,
    "replay": Replay,
    # "offers", "rules", "config": owned by signage / operations; add their types here.
}
"""Schema file name (without ``.json``) → msgspec type."""

SCHEMA_DIR = jsonschema.SCHEMA_DIR


def schema_of(name: str) -> dict[str, Any]:
    schema = jsonschema.schema_of(SCHEMA_TYPES[name], schema_id=f"https://instore-edge.example/schemas/{name}.json")
    if name == "checkin":
        schema["$defs"]["Checkin"]["anyOf"] = CHECKIN_FORMS
    return schema


def render(name: str) -> str:
    return jsonschema.render(schema_of(name))


def write_all(directory: Path = SCHEMA_DIR) -> list[Path]:
    return jsonschema.write({name: schema_of(name) for name in SCHEMA_TYPES}, directory)


if __name__ == "__main__":
    for written_path in write_all():
        print(written_path)
