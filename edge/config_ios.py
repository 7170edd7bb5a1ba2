"""The iOS path's config sections: ``[advertise]`` (the store's iBeacon) and ``[checkin]`` (app check-ins).

Kept beside :mod:`edge.config` (which includes them in :class:`~edge.config.Config`; the one rule
across sections, that ``advertise.zone`` exists, is checked there) so the two sections and their
rules read as one. Neither section may be changed
by a remote override: one is the radio, the other the key that decides whose check-in is believed.
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import Meta

from edge.config_errors import InvalidConfigError

ADVERTISE_INTERVAL_MS = 100
"""Apple's iBeacon guideline is 100 ms: region entry is then reported within a few seconds, at
about 0.2 mA extra on a Pi's controller."""
ADVERTISE_INTERVAL_MIN_MS = 20
ADVERTISE_INTERVAL_MAX_MS = 10_240
"""The Bluetooth Core specification's range for legacy advertising intervals (20 ms … 10.24 s)."""
MEASURED_POWER_DBM = -59
"""The iBeacon convention for "RSSI at 1 m" of a typical 0 dBm transmitter; calibrate per store."""
CHECKIN_PRESENCE_TIMEOUT_S = 1800.0
"""App presence ends after 30 min without a refresh: iOS wakes the app on region entry and exit only,
and the app refreshes while it runs; a missed exit (phone off, app killed) must not keep a shopper
"present" all day."""
ED25519_PUBLIC_KEY_BYTES = 32

UInt16 = Annotated[int, Meta(ge=0, le=0xFFFF)]
IntervalMs = Annotated[int, Meta(ge=ADVERTISE_INTERVAL_MIN_MS, le=ADVERTISE_INTERVAL_MAX_MS)]


class AdvertiseConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """``[advertise]``: the iBeacon region this gateway broadcasts (absent: it broadcasts nothing)."""

    uuid: str
    """The retailer-wide proximity UUID (one for every store: iOS monitors at most 20 regions per app)."""
    major: UInt16
    """This store (0..65535); a check-in for another major is rejected as a foreign store."""
    minor: UInt16 = 0
    """This gateway or the zone it covers (0..65535)."""
    measured_power_dbm: Annotated[int, Meta(ge=-127, le=0)] = MEASURED_POWER_DBM
    """The RSSI at 1 m the frame announces (-127..0 dBm)."""
    interval_ms: IntervalMs = ADVERTISE_INTERVAL_MS
    """Advertising interval; applied only where BlueZ allows (see ``edge doctor``)."""
    tx_power_dbm: Annotated[int, Meta(ge=-127, le=20)] | None = None
    """Transmit power; applied only where BlueZ allows; default: the controller's."""
    adapter: str | None = None
    """The adapter that advertises (``hci1``); default: ``ble.adapter``. A controller that cannot
    scan and advertise at once needs a second one here."""
    zone: str | None = None
    """The zone a check-in for this gateway's minor puts the shopper in (until BLE refines it)."""

    def __post_init__(self) -> None:
        try:
            UUID(self.uuid)
        except ValueError:
            raise InvalidConfigError("uuid", f"{self.uuid!r} is not a UUID") from None

    @property
    def proximity_uuid(self) -> UUID:
        return UUID(self.uuid)


class CheckinConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """``[checkin]``: app check-ins relayed by the CDP (``cdp/v1/{store}/checkin``)."""

    cdp_public_key: str | None = None
    """The CDP's Ed25519 public key, base64 (32 bytes); without it every signed check-in is rejected."""
    presence_timeout_s: Annotated[float, Meta(gt=0)] = CHECKIN_PRESENCE_TIMEOUT_S

    def __post_init__(self) -> None:
        if self.cdp_public_key is not None:
            try:
                raw = base64.b64decode(self.cdp_public_key, validate=True)
            except (binascii.Error, ValueError):
                raise InvalidConfigError("cdp_public_key", "is not base64") from None
            if len(raw) != ED25519_PUBLIC_KEY_BYTES:
                raise InvalidConfigError(
                    "cdp_public_key", f"an Ed25519 public key is {ED25519_PUBLIC_KEY_BYTES} bytes, got {len(raw)}"
                )
        if not math.isfinite(self.presence_timeout_s):
            raise InvalidConfigError("presence_timeout_s", "must be > 0 seconds")

    @property
    def public_key_bytes(self) -> bytes | None:
        return None if self.cdp_public_key is None else base64.b64decode(self.cdp_public_key, validate=True)
