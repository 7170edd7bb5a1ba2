"""The consent roster: who opted in, with which identifiers and scopes.

A roster arrives as a JSON snapshot (the retained ``cdp/v1/{store}/roster`` topic, a trace
``downlink`` line, or a file). It is validated whole into frozen values: an invalid snapshot is
rejected with :class:`RosterFieldError` naming the field (``$.shoppers[3].ids[0].tk``) and the
problem, and the last good roster stays; a rejected roster *file* (``gateway.roster_file``) is an
:class:`~edge.errors.InputFileError` that stops the command. Fields and scopes this version does
not know are accepted, ignored and named once in the log (:mod:`edge.unknown`): an unknown scope
grants nothing. Error messages and logs never carry a value of the roster (tokens, UUIDs, keys).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import KeysView
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from edge.errors import InputFileError, RosterError
from edge.limits import JSON_DEPTH_MAX, scrub, too_deep
from edge.timefmt import parse_start
from edge.unknown import decode_noting, located, note_scopes

SCOPES = frozenset({"presence", "personalization", "shelf", "camera"})
"""Scopes the gateway acts on; an unknown scope (a newer CDP may send one) is logged once and dropped."""


class RosterFieldError(RosterError):
    """A roster snapshot is invalid: ``field`` is a JSON path (``$.shoppers[3].scopes``)."""

    def __init__(self, problem: str, *, field: str = "$") -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"roster rejected: {field}: {problem}")


class RosterRefusedError(RosterError):
    """A valid roster that is not put in force: ``reason`` is ``stale`` (older than the one in
    force: a re-delivered old snapshot would bring back shoppers who withdrew since) or
    ``expired`` (already expired on arrival: it would drop everyone). The last good one stays."""

    def __init__(self, problem: str, *, reason: str) -> None:
        self.reason = reason
        super().__init__(f"roster refused: {problem}")


def admit(current: Roster | None, incoming: Roster, now: float) -> bool:
    """Whether ``incoming`` replaces ``current`` at ``now``: True, put it in force; False, the same
    version again (idempotent: nothing changes). Raises :class:`RosterRefusedError`: the version must
    grow, and a roster already expired on arrival is refused."""
    if incoming.expired(now):
        raise RosterRefusedError(f"version {incoming.version} had expired when it arrived", reason="expired")
    if current is None or incoming.version > current.version:
        return True
    if incoming.version < current.version:
        raise RosterRefusedError(
            f"version {incoming.version} is older than the version {current.version} in force", reason="stale"
        )
    return False


TOMBSTONES_MAX = 100_000
"""Consent withdrawals remembered (a tombstone per token until a newer roster omits it): one per
shopper of the largest roster; past it (a flood of withdrawals for unknown tokens) the oldest go."""


FACE_EMBEDDING_FLOATS = 128
"""SFace embeddings are 128 float32 values."""


VERSION_MAX = 2**63 - 1
"""A roster version is stored as SQLite's signed 64-bit INTEGER."""
T0_MAX = 2**32 - 1
"""An Eddystone-EID beacon's counter is 32 bits: its t0 is a Unix time in 0..2^32-1 (until 2106)."""
SHOPPERS_MAX = 100_000
"""Shoppers in one snapshot: a store's opted-in shoppers, far more than fit the 4 MiB downlink limit."""
IDS_MAX = 16
"""Identifiers per shopper (a phone, a tag, a card, ...)."""
LABELS_MAX = 256
"""Scopes, segments or recent purchases per shopper."""

_Token = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
_Label = Annotated[str, msgspec.Meta(max_length=128)]
_Hex = Annotated[str, msgspec.Meta(max_length=64)]
_Time = Annotated[str, msgspec.Meta(max_length=64)]
_U16 = Annotated[int, msgspec.Meta(ge=0, le=0xFFFF)]


class _IBeaconId(msgspec.Struct, tag_field="type", tag="ibeacon", forbid_unknown_fields=True):
    uuid: Annotated[str, msgspec.Meta(max_length=64)]
    major: _U16
    minor: _U16


class _UidId(msgspec.Struct, tag_field="type", tag="eddystone-uid", forbid_unknown_fields=True):
    namespace: _Hex
    instance: _Hex


class _EidId(msgspec.Struct, tag_field="type", tag="eddystone-eid", forbid_unknown_fields=True):
    tk: _Hex
    k: Annotated[int, msgspec.Meta(ge=0, le=15)]
    t0: Annotated[int, msgspec.Meta(ge=0, le=T0_MAX)]


class _Prefs(msgspec.Struct, forbid_unknown_fields=False):
    large_text: bool = False
    language: Annotated[str, msgspec.Meta(max_length=35)] | None = None


class _Face(msgspec.Struct, forbid_unknown_fields=True):
    model: Annotated[str, msgspec.Meta(max_length=64)]
    embedding: Annotated[str, msgspec.Meta(max_length=1024)]


class _Shopper(msgspec.Struct, forbid_unknown_fields=False):
    token: _Token
    scopes: Annotated[list[_Label], msgspec.Meta(max_length=LABELS_MAX)]
    ids: Annotated[list[_IBeaconId | _UidId | _EidId], msgspec.Meta(max_length=IDS_MAX)]
    segments: Annotated[list[_Label], msgspec.Meta(max_length=LABELS_MAX)] = msgspec.field(default_factory=list)
    recent_purchases: Annotated[list[_Label], msgspec.Meta(max_length=LABELS_MAX)] = msgspec.field(default_factory=list)
    prefs: _Prefs = msgspec.field(default_factory=_Prefs)
    face: _Face | None = None


class _Roster(msgspec.Struct, forbid_unknown_fields=False):
    version: Annotated[int, msgspec.Meta(ge=0, le=VERSION_MAX)]
    issued_at: _Time
    expires_at: _Time
    shoppers: Annotated[list[_Shopper], msgspec.Meta(max_length=SHOPPERS_MAX)]


@dataclass(frozen=True, slots=True)
class IBeaconId:
    uuid: uuid.UUID
    major: int
    minor: int


@dataclass(frozen=True, slots=True)
class EddystoneUidId:
    namespace: bytes
    instance: bytes


@dataclass(frozen=True, slots=True)
class EddystoneEidId:
    tk: bytes
    """The temporary key of the current 2^16 s window; never the identity key."""
    k: int
    t0: int


ShopperId = IBeaconId | EddystoneUidId | EddystoneEidId
Via = Literal["ibeacon", "eddystone-uid", "eddystone-eid", "camera"]


@dataclass(frozen=True, slots=True)
class Prefs:
    large_text: bool = False
    language: str | None = None


@dataclass(frozen=True, slots=True)
class Shopper:
    """One opted-in shopper; ``token`` is pseudonymous and goes only into event ``data``."""

    token: str
    scopes: frozenset[str]
    ids: tuple[ShopperId, ...]
    segments: tuple[str, ...] = ()
    recent_purchases: tuple[str, ...] = ()
    prefs: Prefs = Prefs()
    face_model: str | None = None
    face_embedding: bytes | None = None
    """128 float32 values, little-endian; only with the ``camera`` scope."""

    def has(self, scope: str) -> bool:
        return scope in self.scopes


@dataclass(frozen=True, slots=True)
class Roster:
    version: int
    issued_at: float
    expires_at: float
    shoppers: tuple[Shopper, ...]
    _by_token: dict[str, Shopper] = field(init=False, repr=False, compare=False, hash=False)
    """Built once per roster: every event path asks "is this token listed?" (a linear scan of 100 000
    shoppers per sighting, before). Tokens are unique (the parser rejects a duplicate); if a roster built
    in code repeats one, the first listed wins, as the scan did."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_token", {s.token: s for s in reversed(self.shoppers)})

    def expired(self, now: float) -> bool:
        """An expired roster resolves nobody (fail closed)."""
        return now >= self.expires_at

    def get(self, token: str) -> Shopper | None:
        return self._by_token.get(token)

    @property
    def tokens(self) -> KeysView[str]:
        """The listed tokens, a set view (``token in roster.tokens`` without a scan)."""
        return self._by_token.keys()

    def without(self, token: str) -> Roster:
        """This roster less one shopper (a consent withdrawal)."""
        kept = tuple(s for s in self.shoppers if s.token != token)
        return Roster(self.version, self.issued_at, self.expires_at, kept)


def _hex(value: str, size: int, where: str) -> bytes:
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise RosterFieldError("is not hex", field=where) from None
    if len(raw) != size:
        raise RosterFieldError(f"must be {size} bytes, got {len(raw)}", field=where)
    return raw


def _id(raw: _IBeaconId | _UidId | _EidId, where: str) -> ShopperId:
    if isinstance(raw, _IBeaconId):
        try:
            parsed = uuid.UUID(raw.uuid)
        except ValueError:
            raise RosterFieldError("is not a UUID", field=f"{where}.uuid") from None
        for name, value in (("major", raw.major), ("minor", raw.minor)):
            if not 0 <= value <= 0xFFFF:
                raise RosterFieldError(f"{value} is outside 0..65535", field=f"{where}.{name}")
        return IBeaconId(parsed, raw.major, raw.minor)
    if isinstance(raw, _UidId):
        return EddystoneUidId(_hex(raw.namespace, 10, f"{where}.namespace"), _hex(raw.instance, 6, f"{where}.instance"))
    if not 0 <= raw.k <= 15:
        raise RosterFieldError(f"{raw.k} is outside 0..15", field=f"{where}.k")
    if raw.t0 < 0:
        raise RosterFieldError("must be a Unix time >= 0", field=f"{where}.t0")
    return EddystoneEidId(_hex(raw.tk, 16, f"{where}.tk"), raw.k, raw.t0)


def _shopper(raw: _Shopper, where: str) -> Shopper:
    if not raw.token or len(raw.token) > 128:
        raise RosterFieldError("must be 1..128 characters", field=f"{where}.token")
    scopes = frozenset(scope for scope in raw.scopes if scope in SCOPES)  # an unknown scope grants nothing
    face_embedding = None
    face_model = None
    if raw.face is not None:
        if "camera" not in scopes:
            raise RosterFieldError("a face template needs the camera scope", field=f"{where}.face")
        try:
            face_embedding = base64.b64decode(raw.face.embedding, validate=True)
        except (binascii.Error, ValueError):
            raise RosterFieldError("is not base64", field=f"{where}.face.embedding") from None
        if len(face_embedding) != FACE_EMBEDDING_FLOATS * 4:
            raise RosterFieldError(f"must be {FACE_EMBEDDING_FLOATS} float32 values", field=f"{where}.face.embedding")
        face_model = raw.face.model
    return Shopper(
        token=raw.token,
        scopes=scopes,
        ids=tuple(_id(ident, f"{where}.ids[{index}]") for index, ident in enumerate(raw.ids)),
        segments=tuple(raw.segments),
        recent_purchases=tuple(raw.recent_purchases),
        prefs=Prefs(raw.prefs.large_text, raw.prefs.language),
        face_model=face_model,
        face_embedding=face_embedding,
    )


def parse_roster(payload: bytes) -> Roster:
    """Validate a roster snapshot; :class:`RosterFieldError` names the field and the problem."""
    try:
        raw: _Roster = decode_noting("roster", payload, _Roster)
    except msgspec.DecodeError as err:
        field, problem = located(err)
        raise RosterFieldError(problem, field=field) from None
    try:
        issued = parse_start(raw.issued_at)
    except ValueError:
        raise RosterFieldError("must be an RFC 3339 time", field="$.issued_at") from None
    try:
        expires = parse_start(raw.expires_at)
    except ValueError:
        raise RosterFieldError("must be an RFC 3339 time", field="$.expires_at") from None
    if expires <= issued:
        raise RosterFieldError("must be after issued_at", field="$.expires_at")
    shoppers = []
    tokens: set[str] = set()
    keys: set[ShopperId] = set()
    for index, entry in enumerate(raw.shoppers):
        where = f"$.shoppers[{index}]"
        note_scopes("roster", entry.scopes, SCOPES)
        shopper = _shopper(entry, where)
        if shopper.token in tokens:
            raise RosterFieldError("duplicate token", field=f"{where}.token")
        tokens.add(shopper.token)
        for number, ident in enumerate(shopper.ids):
            if ident in keys:
                raise RosterFieldError("an identifier is listed twice", field=f"{where}.ids[{number}]")
            keys.add(ident)
        shoppers.append(shopper)
    return Roster(raw.version, issued, expires, tuple(shoppers))


def load_roster_file(path: Path) -> Roster:
    """A roster snapshot from a file (``gateway.roster_file``, ``edge record --roster``).

    Raises :class:`~edge.errors.InputFileError` (``roster.json: $.shoppers[3].token: problem``)
    for a file that cannot be read or is rejected: the operator named it, so it is not skipped."""
    try:
        payload = path.read_bytes()
    except OSError as err:
        raise InputFileError(f"cannot read the roster: {err.strerror}", path=str(path)) from None
    if too_deep(payload):  # as a downlink is checked: msgspec's RecursionError is no decode error
        raise InputFileError(f"nests deeper than {JSON_DEPTH_MAX} levels", path=str(path))
    try:
        return parse_roster(payload)
    except RosterFieldError as err:
        raise InputFileError(scrub(err.problem), path=str(path), field=err.field) from None  # no value of it
