"""What the scanners hear: phones and cards advertising, and the radio channel between them.

RSSI at a scanner d metres away = the device's real power at 1 m − 10·n·log10(d) + shadowing
N(0, :data:`SHADOWING_SIGMA_DB`), minus :data:`WALL_LOSS_DB` outside the building, minus a deep
fade now and then (:data:`OUTLIER_PROBABILITY`), minus a body-shadowing burst while one is on.
Each scanner within :data:`HEARING_RANGE_M` misses each advert with :data:`MISS_PROBABILITY` and
hears nothing below :data:`SENSITIVITY_DBM`. The power a device *declares* (iBeacon measured
power, Eddystone ranging data) is off from its real power by N(0, :data:`CALIBRATION_SIGMA_DB`).
"""

from __future__ import annotations

import math
import random
import uuid
from typing import Literal

from edge.beacons.advert import APPLE_COMPANY_ID, EDDYSTONE_UUID
from edge.beacons.build import eddystone_eid_payload, ibeacon_payload
from edge.eid import eid_at
from edge.sim.shoppers import seeded

Kind = Literal["eid", "ibeacon", "anonymous"]

PATH_LOSS_EXPONENT = 2.2
"""The store's path-loss exponent (shelving and people): the value the gateway is calibrated to."""
SHADOWING_SIGMA_DB = 5.0
"""Per-advert shadowing and fast fading, the figure measurement studies of BLE indoors report."""
MISS_PROBABILITY = 0.2
"""Chance that one scanner misses one advert (collisions, channel hopping, scan window gaps)."""
OUTLIER_PROBABILITY = 0.02
"""Chance of a deep fade (a multipath null) on one advert at one scanner..."""
OUTLIER_DB = (10.0, 25.0)
"""...and how deep it is."""
BODY_SHADOW_RATE_HZ = 1.0 / 300.0
"""How often a phone is shadowed by its owner's body (turning, pocketing it)..."""
BODY_SHADOW_S = (1.0, 3.0)
"""...for how long..."""
BODY_SHADOW_DB = (2.0, 6.0)
"""...and how much it costs at every scanner."""
SILENCE_RATE_HZ = 1.0 / 600.0
"""How often a phone's OS stops the app advertising for a moment (doze, a call)..."""
SILENCE_S = (1.0, 3.0)
"""...and for how long."""
HEARING_RANGE_M = 15.0
"""Beyond this distance a scanner hears nothing (shelving, bodies, the noise floor)."""
SENSITIVITY_DBM = -95.0
"""Weakest advert a scanner's radio decodes."""
WALL_LOSS_DB = 10.0
"""Extra loss when the phone is outside the building (the shopfront)."""
CALIBRATION_SIGMA_DB = 1.0
"""How far a device's declared power at 1 m is off from its real power."""
MAC_ROTATION_S = 900.0
"""Phones rotate their random address about every 15 minutes (iOS and Android)."""
EDDYSTONE_0M_TO_1M_DB = 41
"""Eddystone declares its power at 0 m: 41 dB above the power at 1 m."""

ADVERT_INTERVAL_S: dict[Kind, float] = {"eid": 0.25, "ibeacon": 0.5, "anonymous": 1.0}
"""The app advertises in Android's balanced mode (4 Hz), cards at 2 Hz, other phones' own
traffic (continuity, fast pair, ...) about once a second."""
DECLARED_POWER_DBM: dict[Kind, tuple[int, int]] = {
    "eid": (-64, -55),
    "ibeacon": (-68, -60),
    "anonymous": (-64, -55),
}
"""Range of declared power at 1 m per kind of device: cards are weaker than phones."""
LOYALTY_UUID = uuid.UUID("2f234454-cf6d-4a0f-adf2-f4911ba9ffa6")
"""The iBeacon proximity UUID of the retailer's loyalty cards."""
EID_K = 10
"""EID rotation exponent: a new identifier every 1024 s."""
_ANON_COMPANIES = (APPLE_COMPANY_ID, 0x0006, 0x0075, 0x00E0)
"""Apple (continuity), Microsoft (CDP), Samsung, Google: what other phones put in their adverts."""


class Device:
    """One advertiser (a shopper's phone or card): its identifiers, address and payload."""

    __slots__ = (
        "_eid_window", "_mac_epoch", "_mac_index", "address", "declared_dbm", "interval_s", "kind",
        "manufacturer", "power_dbm", "rng", "service", "shadow_db", "shadow_until", "t0", "tk",
    )  # fmt: skip

    def __init__(self, seed: int, index: int, kind: Kind, start: float) -> None:
        rng = self.rng = seeded(seed, kind, index, "radio")
        self.kind = kind
        self.interval_s = ADVERT_INTERVAL_S[kind]
        self.declared_dbm = rng.randint(*DECLARED_POWER_DBM[kind])
        self.power_dbm = self.declared_dbm + rng.gauss(0.0, CALIBRATION_SIGMA_DB)
        self.tk = rng.randbytes(16)
        self.t0 = int(start) - rng.randint(0, 20_000)
        self._eid_window = -1
        self._mac_epoch = start - rng.uniform(0.0, MAC_ROTATION_S)
        self._mac_index = -1
        self.address = ""
        self.manufacturer: dict[int, bytes] = {}
        self.service: dict[str, bytes] = {}
        self.shadow_until = -math.inf
        self.shadow_db = 0.0
        if kind == "ibeacon":
            self.address = _mac(rng, static=True)
            minor = index + 1
            self.manufacturer = {APPLE_COMPANY_ID: ibeacon_payload(LOYALTY_UUID, 1, minor, self.declared_dbm)}

    def refresh(self, at: float) -> None:
        """Rotate the address and payloads that change with time (EID window, random MAC)."""
        if self.kind == "ibeacon":
            return
        mac_index = int((at - self._mac_epoch) // MAC_ROTATION_S)
        if mac_index != self._mac_index:
            self._mac_index = mac_index
            self.address = _mac(self.rng, static=False)
            if self.kind == "anonymous":
                company = self.rng.choice(_ANON_COMPANIES)
                self.manufacturer = {company: bytes([0x10, 0x05]) + self.rng.randbytes(self.rng.randint(4, 20))}
        if self.kind == "eid":
            window = int(at - self.t0) >> EID_K
            if window != self._eid_window:
                self._eid_window = window
                eid = eid_at(self.tk, EID_K, self.t0, at)
                self.service = {EDDYSTONE_UUID: eddystone_eid_payload(eid, self.declared_dbm + EDDYSTONE_0M_TO_1M_DB)}

    def heard(self, rng: random.Random, at: float, distance_m: float, outside: bool) -> int | None:
        """The RSSI one scanner reads for one advert, or None when it misses it."""
        if distance_m > HEARING_RANGE_M or rng.random() < MISS_PROBABILITY:
            return None
        rssi = self.power_dbm - 10.0 * PATH_LOSS_EXPONENT * math.log10(max(distance_m, 0.3))
        rssi += rng.gauss(0.0, SHADOWING_SIGMA_DB)
        if outside:
            rssi -= WALL_LOSS_DB
        if at < self.shadow_until:
            rssi -= self.shadow_db
        if rng.random() < OUTLIER_PROBABILITY:
            rssi -= rng.uniform(*OUTLIER_DB)
        if rssi < SENSITIVITY_DBM:
            return None
        return min(round(rssi), 20)

    def next_advert(self, rng: random.Random, at: float) -> float:
        """When the next advert goes out; starts body-shadowing and silences as they come."""
        step = self.interval_s + rng.uniform(0.0, 0.01)  # BLE's 0-10 ms advDelay
        if at >= self.shadow_until and rng.random() < BODY_SHADOW_RATE_HZ * step:
            self.shadow_until = at + rng.uniform(*BODY_SHADOW_S)
            self.shadow_db = rng.uniform(*BODY_SHADOW_DB)
        if self.kind == "eid" and rng.random() < SILENCE_RATE_HZ * step:
            step += rng.uniform(*SILENCE_S)
        return at + step


def _mac(rng: random.Random, *, static: bool) -> str:
    raw = bytearray(rng.randbytes(6))
    raw[0] = (raw[0] & 0x3F) | (0xC0 if static else 0x40)  # static random / resolvable private
    return ":".join(f"{b:02X}" for b in raw)
