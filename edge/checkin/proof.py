"""The app check-in's proof: ``cdp/v1/{store}/checkin`` in its presence form, signed by the CDP.

The retailer's app, woken by iOS on entering or leaving the store's iBeacon region, tells the CDP;
the CDP signs a short-lived proof and relays it to the store's gateways::

    {"token": "s-ada", "event": "enter" | "refresh" | "exit",
     "region": {"uuid": "…", "major": 7, "minor": 1}, "zone": "baby" (optional),
     "code": "OAT25-7KQ2XM" (optional), "issued_at": "2026-11-23T10:00:00Z",
     "expires_at": "2026-11-23T10:05:00Z", "nonce": "…", "sig": "<base64 Ed25519>"}

``code`` is a redemption code the shopper entered or scanned in the app (the one a screen showed:
``edge.offer.impression``'s ``code``); signage redeems it (:mod:`edge.signage.measure`). Older
check-ins without it stay valid.

``sig`` signs ``json.dumps(obj_without_sig, sort_keys=True, separators=(",", ":"),
ensure_ascii=False)`` in UTF-8 — the object as received, unknown fields included — with the CDP's
key; the gateway holds only the public half (``[checkin] cdp_public_key``), so nothing on the box
can forge a check-in. :class:`ProofVerifier` accepts a proof once: signed by that key, within its
``issued_at`` … ``expires_at`` by the injected clock (under replay, the trace's time), for this
store's region (UUID compared case-insensitively with or without dashes, ``major`` = ``[advertise]
major``), with a nonce it has not seen. Everything else raises :class:`CheckinError` with a
:class:`Rejection` and is counted by reason. The region is required: it is what binds a proof to
one store, so a proof relayed to another store's topic is refused there.

The camera form ``{"token", "screen"}`` is still accepted on the same topic; :func:`form_of` tells
the two apart so the caller routes the camera form to edge.vision as before. Payload values never
reach the log or an error message.
"""

from __future__ import annotations

import base64
import binascii
import enum
import heapq
import json
import logging
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge.errors import EdgeError

log = logging.getLogger(__name__)

# --- constants ------------------------------------------------------------------------------------

CHECKIN_MAX_BYTES = 2048
"""A proof is about 400 bytes; anything much larger is not one (and is not parsed)."""
CLOCK_SKEW_S = 30.0
"""A proof issued up to this far in the gateway's future is accepted: NTP-synchronised clocks differ
by milliseconds, a box that has just booted before NTP by seconds."""
MAX_LIFETIME_S = 900.0
"""Longest ``expires_at - issued_at`` accepted: the CDP signs at relay time for a few minutes; a
bound here also bounds the nonce memory (a nonce is kept until its proof expires)."""
NONCE_MEMORY_MAX = 65_536
"""Nonces remembered at most: 72 check-ins/s for :data:`MAX_LIFETIME_S`, far beyond a store. When it
is full, new proofs are refused (fail closed) rather than forgetting a live nonce (a replay window)."""
SIGNATURE_BYTES = 64

PRESENCE_KEYS = frozenset({"event", "region", "nonce", "sig", "issued_at", "expires_at"})
"""Any of these makes a check-in the presence form (the camera form has only ``token`` and ``screen``)."""


class Rejection(enum.Enum):
    """Why a check-in proof was refused (the counter's key)."""

    MALFORMED = "malformed"
    UNSIGNED = "unsigned"
    BAD_SIGNATURE = "bad-signature"
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"
    REPLAYED = "replayed"
    FOREIGN_STORE = "foreign-store"
    UNCONFIGURED = "unconfigured"
    NONCE_MEMORY_FULL = "nonce-memory-full"


class CheckinError(EdgeError):
    """A check-in proof was refused; ``reason`` says why (the message never holds payload values)."""

    def __init__(self, message: str, *, reason: Rejection) -> None:
        self.reason = reason
        super().__init__(f"check-in refused ({reason.value}): {message}")


# --- the wire form --------------------------------------------------------------------------------

Short = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
U16 = Annotated[int, msgspec.Meta(ge=0, le=0xFFFF)]
RedemptionCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9-]{3,48}$")]
"""A code as a screen showed it (an offer's code, ``-``, 6 characters; case-insensitive as typed)."""


class Region(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """The iBeacon region the app saw: the retailer's UUID, the store's major, a gateway's or zone's minor."""

    uuid: Annotated[str, msgspec.Meta(min_length=32, max_length=36)]
    major: U16
    minor: U16


class PresenceCheckin(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """``cdp/v1/{store}/checkin``, presence form (``sig`` is checked over the raw object, not this)."""

    token: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    event: Literal["enter", "refresh", "exit"]
    region: Region
    issued_at: Annotated[str, msgspec.Meta(min_length=10, max_length=40)]
    expires_at: Annotated[str, msgspec.Meta(min_length=10, max_length=40)]
    nonce: Annotated[str, msgspec.Meta(min_length=8, max_length=128)]
    sig: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    zone: Short | None = None
    code: RedemptionCode | None = None


@dataclass(frozen=True, slots=True)
class AppCheckin:
    """An accepted proof: what :class:`~edge.checkin.app_presence.AppPresence` takes."""

    token: str
    event: Literal["enter", "refresh", "exit"]
    minor: int
    zone: str | None
    issued_at: float
    expires_at: float
    code: str | None = None
    """A redemption code the shopper brought (upper case), or None."""


def signed_text(obj: dict[str, Any]) -> bytes:
    """The bytes the CDP signs: the object without ``sig``, keys sorted, no spaces, UTF-8."""
    body = {key: value for key, value in obj.items() if key != "sig"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("a key appears twice")
    return out


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def decode_object(payload: bytes) -> dict[str, Any]:
    """The check-in as a JSON object; :class:`CheckinError` (malformed) for anything else.

    Duplicate keys are refused: the signature must cover exactly what is acted on."""
    if len(payload) > CHECKIN_MAX_BYTES:
        raise CheckinError(f"{len(payload)} bytes, over {CHECKIN_MAX_BYTES}", reason=Rejection.MALFORMED)
    try:
        obj = json.loads(payload, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except (ValueError, RecursionError) as err:
        raise CheckinError(f"not JSON: {type(err).__name__}", reason=Rejection.MALFORMED) from None
    if not isinstance(obj, dict):
        raise CheckinError("not a JSON object", reason=Rejection.MALFORMED)
    return obj


def form_of(obj: dict[str, Any]) -> Literal["camera", "presence"]:
    """``camera`` for the old ``{"token", "screen"}`` form, ``presence`` for the signed one."""
    return "presence" if PRESENCE_KEYS & obj.keys() or "screen" not in obj else "camera"


def parse_time(text: str, field: str) -> float:
    """An RFC 3339 time with an explicit offset (``Z`` or ``+01:00``) → Unix seconds."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CheckinError(f"{field} is not an RFC 3339 time", reason=Rejection.MALFORMED) from None
    if moment.tzinfo is None:
        raise CheckinError(f"{field} has no UTC offset", reason=Rejection.MALFORMED)
    return moment.astimezone(UTC).timestamp()


def uuid_key(text: str) -> str | None:
    """A UUID compared case-insensitively, with or without dashes (None: not a UUID)."""
    compact = text.replace("-", "").lower()
    if len(compact) != 32:
        return None
    try:
        return uuid.UUID(hex=compact).hex
    except ValueError:
        return None


class ProofVerifier:
    """Accepts each valid proof once; see the module docstring.

    ``counters``: refusals by :class:`Rejection` value, and ``accepted``.

    Args:
        public_key: the CDP's Ed25519 public key (32 bytes); None refuses every proof (unconfigured).
        region_uuid, major: this store's ``[advertise]`` region; None refuses every proof (unconfigured).
    """

    def __init__(
        self,
        public_key: bytes | None,
        region_uuid: uuid.UUID | None,
        major: int | None,
        *,
        clock_skew_s: float = CLOCK_SKEW_S,
        max_lifetime_s: float = MAX_LIFETIME_S,
        nonce_memory_max: int = NONCE_MEMORY_MAX,
    ) -> None:
        self._key = Ed25519PublicKey.from_public_bytes(public_key) if public_key is not None else None
        self._uuid = region_uuid.hex if region_uuid is not None else None
        self._major = major
        self._skew_s = clock_skew_s
        self._max_lifetime_s = max_lifetime_s
        self._nonce_max = nonce_memory_max
        self._nonces: dict[str, float] = {}
        self._expiry: list[tuple[float, str]] = []
        self.counters: Counter[str] = Counter()

    @property
    def nonces_held(self) -> int:
        return len(self._nonces)

    def verify(self, obj: dict[str, Any], now: float) -> AppCheckin:
        """The accepted check-in, or :class:`CheckinError`; counted either way."""
        try:
            checkin = self._verify(obj, now)
        except CheckinError as err:
            self.counters[err.reason.value] += 1
            log.debug("%s", err)  # counted by reason; a flood of forged check-ins must not flood the log
            raise
        self.counters["accepted"] += 1
        return checkin

    def verify_payload(self, payload: bytes, now: float) -> AppCheckin:
        """:meth:`verify` of raw bytes (a malformed payload is counted too)."""
        try:
            obj = decode_object(payload)
        except CheckinError as err:
            self.counters[err.reason.value] += 1
            raise
        return self.verify(obj, now)

    def _verify(self, obj: dict[str, Any], now: float) -> AppCheckin:
        if self._key is None or self._uuid is None or self._major is None:
            raise CheckinError(
                "set [checkin] cdp_public_key and [advertise] uuid and major", reason=Rejection.UNCONFIGURED
            )
        sig = obj.get("sig")
        if sig is None or sig == "":
            raise CheckinError("no sig", reason=Rejection.UNSIGNED)
        if not isinstance(sig, str):
            raise CheckinError("sig is not a base64 string", reason=Rejection.MALFORMED)
        try:
            signature = base64.b64decode(sig, validate=True)
        except (binascii.Error, ValueError):
            raise CheckinError("sig is not base64", reason=Rejection.MALFORMED) from None
        if len(signature) != SIGNATURE_BYTES:
            raise CheckinError(f"sig is not {SIGNATURE_BYTES} bytes", reason=Rejection.BAD_SIGNATURE)
        try:
            self._key.verify(signature, signed_text(obj))
        except InvalidSignature:
            raise CheckinError("not signed by the CDP's key", reason=Rejection.BAD_SIGNATURE) from None
        try:
            proof = msgspec.convert(obj, PresenceCheckin)
        except msgspec.ValidationError as err:
            where = str(err).rpartition(" - at ")[2] if " - at " in str(err) else "$"
            raise CheckinError(f"{where} is invalid", reason=Rejection.MALFORMED) from None
        issued = parse_time(proof.issued_at, "issued_at")
        expires = parse_time(proof.expires_at, "expires_at")
        if not 0 < expires - issued <= self._max_lifetime_s:
            raise CheckinError(
                f"expires_at must be after issued_at, by at most {self._max_lifetime_s:g} s",
                reason=Rejection.MALFORMED,
            )
        if now >= expires:
            raise CheckinError(f"expired {now - expires:.1f} s ago", reason=Rejection.EXPIRED)
        if issued > now + self._skew_s:
            raise CheckinError(f"issued {issued - now:.1f} s in the future", reason=Rejection.NOT_YET_VALID)
        if uuid_key(proof.region.uuid) != self._uuid or proof.region.major != self._major:
            raise CheckinError("the region is not this store's", reason=Rejection.FOREIGN_STORE)
        self._remember(proof.nonce, expires, now)
        code = proof.code.upper() if proof.code is not None else None
        return AppCheckin(proof.token, proof.event, proof.region.minor, proof.zone, issued, expires, code)

    def _remember(self, nonce: str, expires: float, now: float) -> None:
        expiry, nonces = self._expiry, self._nonces
        while expiry and expiry[0][0] <= now:
            _, old = heapq.heappop(expiry)
            if nonces.get(old, now + 1) <= now:
                del nonces[old]
        if nonce in nonces:
            raise CheckinError("this nonce was accepted before", reason=Rejection.REPLAYED)
        if len(nonces) >= self._nonce_max:
            raise CheckinError(f"{len(nonces)} live nonces held", reason=Rejection.NONCE_MEMORY_FULL)
        nonces[nonce] = expires
        heapq.heappush(expiry, (expires, nonce))
