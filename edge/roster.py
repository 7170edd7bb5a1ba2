"""The consent roster: who opted in, with which identifiers and scopes (shared/DESIGN.md).

A roster arrives as a JSON snapshot (the retained ``cdp/v1/{store}/roster`` topic, a trace
``downlink`` line, or a file). It is validated whole into frozen values: an invalid snapshot is
rejected with :class:`RosterError` naming the entry and the field, and the last good roster stays.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from typing import Literal

import msgspec

from edge.errors import RosterError
from edge.trace import parse_start

SCOPES = frozenset({"presence", "personalization", "shelf", "camera"})
"""Scopes the gateway acts on; unknown scopes are kept (a newer CDP may send them) but grant nothing here."""

FACE_EMBEDDING_FLOATS = 128
"""SFace embeddings are 128 float32 values."""


class _IBeaconId(msgspec.Struct, tag_field="type", tag="ibeacon", forbid_unknown_fields=True):
    uuid: str
    major: int
    minor: int


class _UidId(msgspec.Struct, tag_field="type", tag="eddystone-uid", forbid_unknown_fields=True):
    namespace: str
    instance: str


class _EidId(msgspec.Struct, tag_field="type", tag="eddystone-eid", forbid_unknown_fields=True):
    tk: str
    k: int
    t0: int


class _Prefs(msgspec.Struct, forbid_unknown_fields=False):
    large_text: bool = False
    language: str | None = None


class _Face(msgspec.Struct, forbid_unknown_fields=True):
    model: str
    embedding: str


class _Shopper(msgspec.Struct, forbid_unknown_fields=False):
    token: str
    scopes: list[str]
    ids: list[_IBeaconId | _UidId | _EidId]
    segments: list[str] = msgspec.field(default_factory=list)
    recent_purchases: list[str] = msgspec.field(default_factory=list)
    prefs: _Prefs = msgspec.field(default_factory=_Prefs)
    face: _Face | None = None


class _Roster(msgspec.Struct, forbid_unknown_fields=False):
    version: int
    issued_at: str
    expires_at: str
    shoppers: list[_Shopper]


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

    def expired(self, now: float) -> bool:
        """An expired roster resolves nobody (fail closed)."""
        return now >= self.expires_at

    def get(self, token: str) -> Shopper | None:
        for shopper in self.shoppers:
            if shopper.token == token:
                return shopper
        return None

    def without(self, token: str) -> Roster:
        """This roster less one shopper (a consent withdrawal)."""
        kept = tuple(s for s in self.shoppers if s.token != token)
        return Roster(self.version, self.issued_at, self.expires_at, kept)


def _hex(value: str, size: int, what: str) -> bytes:
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise RosterError(f"{what} is not hex") from None
    if len(raw) != size:
        raise RosterError(f"{what} must be {size} bytes, got {len(raw)}")
    return raw


def _id(raw: _IBeaconId | _UidId | _EidId) -> ShopperId:
    if isinstance(raw, _IBeaconId):
        try:
            parsed = uuid.UUID(raw.uuid)
        except ValueError:
            raise RosterError(f"ibeacon uuid {raw.uuid!r} is not a UUID") from None
        for name, value in (("major", raw.major), ("minor", raw.minor)):
            if not 0 <= value <= 0xFFFF:
                raise RosterError(f"ibeacon {name} {value} is outside 0..65535")
        return IBeaconId(parsed, raw.major, raw.minor)
    if isinstance(raw, _UidId):
        return EddystoneUidId(_hex(raw.namespace, 10, "namespace"), _hex(raw.instance, 6, "instance"))
    if not 0 <= raw.k <= 15:
        raise RosterError(f"eddystone-eid k {raw.k} is outside 0..15")
    if raw.t0 < 0:
        raise RosterError("eddystone-eid t0 must be a Unix time >= 0")
    return EddystoneEidId(_hex(raw.tk, 16, "tk"), raw.k, raw.t0)


def _shopper(raw: _Shopper) -> Shopper:
    if not raw.token or len(raw.token) > 128:
        raise RosterError("token must be 1..128 characters")
    scopes = frozenset(raw.scopes)
    face_embedding = None
    face_model = None
    if raw.face is not None:
        if "camera" not in scopes:
            raise RosterError("a face template needs the camera scope")
        try:
            face_embedding = base64.b64decode(raw.face.embedding, validate=True)
        except (binascii.Error, ValueError):
            raise RosterError("face.embedding is not base64") from None
        if len(face_embedding) != FACE_EMBEDDING_FLOATS * 4:
            raise RosterError(f"face.embedding must be {FACE_EMBEDDING_FLOATS} float32 values")
        face_model = raw.face.model
    return Shopper(
        token=raw.token,
        scopes=scopes,
        ids=tuple(_id(i) for i in raw.ids),
        segments=tuple(raw.segments),
        recent_purchases=tuple(raw.recent_purchases),
        prefs=Prefs(raw.prefs.large_text, raw.prefs.language),
        face_model=face_model,
        face_embedding=face_embedding,
    )


def parse_roster(payload: bytes) -> Roster:
    """Validate a roster snapshot; :class:`RosterError` names what is wrong and where."""
    try:
        raw = msgspec.json.decode(payload, type=_Roster)
    except msgspec.DecodeError as err:
        raise RosterError(f"roster rejected: {err}") from None
    try:
        issued, expires = parse_start(raw.issued_at), parse_start(raw.expires_at)
    except ValueError:
        raise RosterError("roster rejected: issued_at / expires_at must be RFC 3339 times") from None
    if expires <= issued:
        raise RosterError("roster rejected: expires_at must be after issued_at")
    shoppers = []
    tokens: set[str] = set()
    keys: set[ShopperId] = set()
    for index, entry in enumerate(raw.shoppers):
        try:
            shopper = _shopper(entry)
        except RosterError as err:
            raise RosterError(f"roster rejected: shoppers[{index}]: {err}") from None
        if shopper.token in tokens:
            raise RosterError(f"roster rejected: shoppers[{index}]: duplicate token")
        tokens.add(shopper.token)
        for ident in shopper.ids:
            if ident in keys:
                raise RosterError(f"roster rejected: shoppers[{index}]: an identifier is listed twice")
            keys.add(ident)
        shoppers.append(shopper)
    return Roster(raw.version, issued, expires, tuple(shoppers))
