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
from edge.roster import _Roster
from edge.unknown import decode_noting, note_fields

Token = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


class Withdraw(msgspec.Struct, forbid_unknown_fields=False):
    """``cdp/v1/{store}/consent/withdraw``: the shopper's consent is withdrawn, effective at once."""

    token: Token


class Checkin(msgspec.Struct, forbid_unknown_fields=False):
    """``cdp/v1/{store}/checkin``: a shopper asks the camera beside ``screen`` to verify them."""

    token: Token
    screen: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


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
    # "offers", "rules", "config": owned by signage / operations; add their types here.
}
"""Schema file name (without ``.json``) → msgspec type."""

SCHEMA_DIR = jsonschema.SCHEMA_DIR


def schema_of(name: str) -> dict[str, Any]:
    return jsonschema.schema_of(SCHEMA_TYPES[name], schema_id=f"https://instore-edge.example/schemas/{name}.json")


def render(name: str) -> str:
    return jsonschema.render(schema_of(name))


def write_all(directory: Path = SCHEMA_DIR) -> list[Path]:
    return jsonschema.write({name: schema_of(name) for name in SCHEMA_TYPES}, directory)


if __name__ == "__main__":
    for written_path in write_all():
        print(written_path)
