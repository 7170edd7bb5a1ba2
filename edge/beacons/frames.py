"""The beacon frames a parser recognises: immutable values, validated when built.

Each type holds the fields of one published format, in the units the format defines. Building one
with an impossible field raises ``ValueError`` (a programming error); the parsers in
:mod:`edge.beacons.parse` only ever build valid frames, and turn bad payloads into ``ParseError``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TypeAlias

URL_SCHEMES = ("http://www.", "https://www.", "http://", "https://")
"""Eddystone-URL scheme prefixes, indexed by the scheme byte."""

URL_EXPANSIONS = (
    *(".com/", ".org/", ".edu/", ".net/", ".info/", ".biz/", ".gov/"),
    *(".com", ".org", ".edu", ".net", ".info", ".biz", ".gov"),
)
"""Eddystone-URL expansion codes 0x00..0x0d, indexed by the code."""

_MAC_DIGITS = frozenset("0123456789ABCDEF")


def _int_in(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ValueError(f"{name} must be in {low}..{high}, got {value}")


def _bytes_of(name: str, value: bytes, size: int) -> None:
    if len(value) != size:
        raise ValueError(f"{name} must be {size} bytes, got {len(value)}")


@dataclass(frozen=True, slots=True)
class IBeacon:
    """Apple iBeacon (manufacturer data under company 0x004C, type 0x02, length 0x15).

    Attributes:
        uuid: proximity UUID.
        major: 16-bit major number.
        minor: 16-bit minor number.
        measured_power: calibrated RSSI at 1 m, signed dBm.
    """

    uuid: uuid.UUID
    major: int
    minor: int
    measured_power: int

    def __post_init__(self) -> None:
        if 0 <= self.major <= 0xFFFF and 0 <= self.minor <= 0xFFFF and -128 <= self.measured_power <= 127:
            return  # the fast path: parsers build one of these per advertisement
        _int_in("major", self.major, 0, 0xFFFF)
        _int_in("minor", self.minor, 0, 0xFFFF)
        _int_in("measured_power", self.measured_power, -128, 127)


@dataclass(frozen=True, slots=True)
class EddystoneUID:
    """Eddystone-UID (frame type 0x00): a static 16-byte beacon id.

    Attributes:
        namespace: 10-byte namespace id.
        instance: 6-byte instance id.
        tx_power: ranging data, the calibrated TX power at 0 m, signed dBm.
    """

    namespace: bytes
    instance: bytes
    tx_power: int

    def __post_init__(self) -> None:
        if len(self.namespace) == 10 and len(self.instance) == 6 and -128 <= self.tx_power <= 127:
            return
        _bytes_of("namespace", self.namespace, 10)
        _bytes_of("instance", self.instance, 6)
        _int_in("tx_power", self.tx_power, -128, 127)


@dataclass(frozen=True, slots=True)
class EddystoneURL:
    """Eddystone-URL (frame type 0x10): a compressed URL.

    Attributes:
        url: the URL with scheme prefix and expansion codes expanded.
        tx_power: calibrated TX power at 0 m, signed dBm.
    """

    url: str
    tx_power: int

    def __post_init__(self) -> None:
        if not self.url.startswith(URL_SCHEMES):
            raise ValueError(f"url must start with one of {URL_SCHEMES}, got {self.url!r}")
        _int_in("tx_power", self.tx_power, -128, 127)


@dataclass(frozen=True, slots=True)
class EddystoneTLM:
    """Plain Eddystone-TLM (frame type 0x20, version 0x00): beacon telemetry.

    Attributes:
        version: TLM version, always 0 for this frame.
        battery_mv: battery voltage in mV; 0 when the beacon does not measure it.
        temperature_c: beacon temperature in °C (signed 8.8), None when not supported (0x8000).
        adv_count: advertising PDUs sent since power-up or reboot.
        uptime_s: time since power-up or reboot, in s (0.1 s resolution).
    """

    version: int
    battery_mv: int
    temperature_c: float | None
    adv_count: int
    uptime_s: float

    def __post_init__(self) -> None:
        _int_in("version", self.version, 0, 0)
        _int_in("battery_mv", self.battery_mv, 0, 0xFFFF)
        if self.temperature_c is not None and not -128.0 < self.temperature_c < 128.0:
            raise ValueError(f"temperature_c must be in (-128, 128), got {self.temperature_c}")
        _int_in("adv_count", self.adv_count, 0, 0xFFFFFFFF)
        if not 0.0 <= self.uptime_s <= 0xFFFFFFFF / 10:
            raise ValueError(f"uptime_s must be in 0..{0xFFFFFFFF / 10}, got {self.uptime_s}")


@dataclass(frozen=True, slots=True)
class EddystoneETLM:
    """Encrypted Eddystone-TLM (frame type 0x20, version 0x01), sent alongside EID frames.

    Attributes:
        etlm: 12 bytes of AES-EAX encrypted telemetry.
        salt: 16-bit random salt of the nonce.
        mic: 16-bit message integrity check.
    """

    etlm: bytes
    salt: int
    mic: int

    def __post_init__(self) -> None:
        _bytes_of("etlm", self.etlm, 12)
        _int_in("salt", self.salt, 0, 0xFFFF)
        _int_in("mic", self.mic, 0, 0xFFFF)


@dataclass(frozen=True, slots=True)
class EddystoneEID:
    """Eddystone-EID (frame type 0x30): a rotating ephemeral identifier.

    Attributes:
        eid: 8-byte ephemeral identifier.
        tx_power: ranging data, the calibrated TX power at 0 m, signed dBm.
    """

    eid: bytes
    tx_power: int

    def __post_init__(self) -> None:
        if len(self.eid) == 8 and -128 <= self.tx_power <= 127:
            return
        _bytes_of("eid", self.eid, 8)
        _int_in("tx_power", self.tx_power, -128, 127)


@dataclass(frozen=True, slots=True)
class AltBeacon:
    """AltBeacon (manufacturer data with beacon code 0xBEAC, under any company).

    Attributes:
        company_id: Bluetooth SIG company id the frame was sent under.
        beacon_id: 20-byte beacon id (commonly a 16-byte UUID, then two 16-bit numbers).
        reference_rssi: average RSSI at 1 m, signed dBm.
        mfg_reserved: manufacturer-defined byte.
    """

    company_id: int
    beacon_id: bytes
    reference_rssi: int
    mfg_reserved: int

    def __post_init__(self) -> None:
        _int_in("company_id", self.company_id, 0, 0xFFFF)
        _bytes_of("beacon_id", self.beacon_id, 20)
        _int_in("reference_rssi", self.reference_rssi, -128, 127)
        _int_in("mfg_reserved", self.mfg_reserved, 0, 0xFF)


def _is_mac(mac: str) -> bool:
    return len(mac) == 17 and mac[2::3] == ":::::" and _MAC_DIGITS.issuperset(mac[0::3] + mac[1::3])


def _optional_in(name: str, value: float | None, low: float, high: float) -> None:
    if value is not None and not low <= value <= high:  # also rejects NaN
        raise ValueError(f"{name} must be None or in {low}..{high}, got {value}")


@dataclass(frozen=True, slots=True)
class RuuviV5:
    """RuuviTag data format 5 (RAWv2); None wherever the tag sent "not available".

    Attributes:
        temperature_c: temperature in °C (0.005 °C steps).
        humidity_pct: relative humidity in % (0.0025 % steps; above 100 means a faulty sensor).
        pressure_pa: atmospheric pressure in Pa.
        acceleration_mg: acceleration on x, y, z in milli-g.
        battery_mv: battery voltage in mV.
        tx_power_dbm: radio TX power in dBm.
        movement_counter: motion interrupts counted by the accelerometer (rolls over).
        sequence: measurement sequence number, for de-duplication.
        mac: the tag's MAC as upper-case "AA:BB:..."; in-process only, never an identity.
    """

    temperature_c: float | None
    humidity_pct: float | None
    pressure_pa: int | None
    acceleration_mg: tuple[int | None, int | None, int | None]
    battery_mv: int | None
    tx_power_dbm: int | None
    movement_counter: int | None
    sequence: int | None
    mac: str | None

    def __post_init__(self) -> None:
        t, h, p, acc, b, tx = (
            self.temperature_c,
            self.humidity_pct,
            self.pressure_pa,
            self.acceleration_mg,
            self.battery_mv,
            self.tx_power_dbm,
        )
        m, s, mac = self.movement_counter, self.sequence, self.mac
        if (
            (t is None or -163.835 <= t <= 163.835)
            and (h is None or 0.0 <= h <= 163.835)
            and (p is None or 50_000 <= p <= 115_534)
            and len(acc) == 3
            and (acc[0] is None or -32_767 <= acc[0] <= 32_767)
            and (acc[1] is None or -32_767 <= acc[1] <= 32_767)
            and (acc[2] is None or -32_767 <= acc[2] <= 32_767)
            and (b is None or 1_600 <= b <= 3_646)
            and (tx is None or (-40 <= tx <= 20 and not tx % 2))
            and (m is None or 0 <= m <= 254)
            and (s is None or 0 <= s <= 65_534)
            and (mac is None or _is_mac(mac))
        ):
            return  # the fast path; below, the first field at fault is named
        self._raise_for_invalid_field()

    def _raise_for_invalid_field(self) -> None:
        _optional_in("temperature_c", self.temperature_c, -163.835, 163.835)
        _optional_in("humidity_pct", self.humidity_pct, 0.0, 163.835)
        _optional_in("pressure_pa", self.pressure_pa, 50_000, 115_534)
        if len(self.acceleration_mg) != 3:
            raise ValueError(f"acceleration_mg must have 3 axes, got {len(self.acceleration_mg)}")
        for axis in self.acceleration_mg:
            _optional_in("acceleration_mg", axis, -32_767, 32_767)
        _optional_in("battery_mv", self.battery_mv, 1_600, 3_646)
        _optional_in("tx_power_dbm", self.tx_power_dbm, -40, 20)
        if self.tx_power_dbm is not None and self.tx_power_dbm % 2:
            raise ValueError(f"tx_power_dbm must be even, got {self.tx_power_dbm}")
        _optional_in("movement_counter", self.movement_counter, 0, 254)
        _optional_in("sequence", self.sequence, 0, 65_534)
        raise ValueError(f"mac must be upper-case 'AA:BB:CC:DD:EE:FF', got {self.mac!r}")  # all else passed


Eddystone: TypeAlias = EddystoneUID | EddystoneURL | EddystoneTLM | EddystoneETLM | EddystoneEID
"""Any Eddystone frame (service data under UUID 0xFEAA)."""

Frame: TypeAlias = IBeacon | Eddystone | AltBeacon | RuuviV5
"""Any frame :func:`edge.beacons.parse.parse_frames` can return."""
