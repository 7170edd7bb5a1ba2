"""Encoders: frame fields → the payload bytes a beacon would send (the inverse of :mod:`.parse`).

Used by the simulator and the tests to produce advertisements. Each returns what bleak would hand
over: manufacturer data without the company id, or the service data of UUID 0xFEAA. Invalid field
values raise ``ValueError`` (through the frame types' validation), except Ruuvi measurements,
which are clipped to the range the format can carry, as Ruuvi's firmware does.
"""

from __future__ import annotations

import math
import struct
from uuid import UUID

from edge.beacons.frames import (
    URL_EXPANSIONS,
    URL_SCHEMES,
    AltBeacon,
    EddystoneEID,
    EddystoneETLM,
    EddystoneTLM,
    EddystoneUID,
    EddystoneURL,
    Frame,
    IBeacon,
)

_IBEACON = struct.Struct(">2s16sHHb")
_UID = struct.Struct(">Bb10s6s")
_TLM = struct.Struct(">BBHhII")
_ETLM = struct.Struct(">BB12sHH")
_EID = struct.Struct(">Bb8s")
_ALTBEACON = struct.Struct(">2s20sbB")
_RUUVI = struct.Struct(">BhHHhhhHBH6s")

# Longest first, so that "https://www." wins over "https://" and ".com/" over ".com".
_SCHEMES_LONGEST_FIRST = sorted(enumerate(URL_SCHEMES), key=lambda item: -len(item[1]))
_EXPANSIONS_LONGEST_FIRST = sorted(enumerate(URL_EXPANSIONS), key=lambda item: -len(item[1]))
_URL_MAX_BYTES = 17


def ibeacon_payload(uuid: UUID, major: int, minor: int, power: int) -> bytes:
    """Apple manufacturer data of an iBeacon; ``power`` is the measured power at 1 m in dBm."""
    IBeacon(uuid, major, minor, power)
    return _IBEACON.pack(b"\x02\x15", uuid.bytes, major, minor, power)


def eddystone_uid_payload(namespace: bytes, instance: bytes, tx_power: int, *, rfu: bool = True) -> bytes:
    """Eddystone-UID service data: 20 bytes, or 18 without the two RFU bytes."""
    EddystoneUID(namespace, instance, tx_power)
    frame = _UID.pack(0x00, tx_power, namespace, instance)
    return frame + b"\x00\x00" if rfu else frame


def eddystone_url_payload(url: str, tx_power: int) -> bytes:
    """Eddystone-URL service data, with the scheme prefix and expansion codes compressed."""
    EddystoneURL(url, tx_power)
    scheme, prefix = next((code, p) for code, p in _SCHEMES_LONGEST_FIRST if url.startswith(p))
    encoded = bytearray((0x10, tx_power & 0xFF, scheme))
    rest, at = url[len(prefix) :], 0
    while at < len(rest):
        for code, expansion in _EXPANSIONS_LONGEST_FIRST:
            if rest.startswith(expansion, at):
                encoded.append(code)
                at += len(expansion)
                break
        else:
            char = rest[at]
            if not "!" <= char <= "~":
                raise ValueError(f"{char!r} cannot be sent in an Eddystone-URL (printable ASCII only)")
            encoded.append(ord(char))
            at += 1
    if len(encoded) - 3 > _URL_MAX_BYTES:
        raise ValueError(f"{url!r} encodes to {len(encoded) - 3} bytes, more than {_URL_MAX_BYTES}")
    return bytes(encoded)


def eddystone_tlm_payload(battery_mv: int, temperature_c: float | None, adv_count: int, uptime_s: float) -> bytes:
    """Plain Eddystone-TLM service data (version 0); None temperature is sent as 0x8000."""
    EddystoneTLM(0, battery_mv, temperature_c, adv_count, uptime_s)
    # -0x8000 means "not supported", so a measurement rounds into -0x7FFF..0x7FFF.
    temperature = -0x8000 if temperature_c is None else min(max(round(temperature_c * 256), -0x7FFF), 0x7FFF)
    deciseconds = min(round(uptime_s * 10), 0xFFFFFFFF)
    return _TLM.pack(0x20, 0x00, battery_mv, temperature, adv_count, deciseconds)


def eddystone_etlm_payload(etlm: bytes, salt: int, mic: int) -> bytes:
    """Encrypted Eddystone-TLM service data (version 1)."""
    EddystoneETLM(etlm, salt, mic)
    return _ETLM.pack(0x20, 0x01, etlm, salt, mic)


def eddystone_eid_payload(eid: bytes, tx_power: int) -> bytes:
    """Eddystone-EID service data; ``tx_power`` is the ranging data at 0 m in dBm."""
    EddystoneEID(eid, tx_power)
    return _EID.pack(0x30, tx_power, eid)


def altbeacon_payload(beacon_id: bytes, reference_rssi: int, mfg_reserved: int = 0) -> bytes:
    """AltBeacon manufacturer data (after the company id, which the caller keys it under)."""
    AltBeacon(0, beacon_id, reference_rssi, mfg_reserved)
    return _ALTBEACON.pack(b"\xbe\xac", beacon_id, reference_rssi, mfg_reserved)


def _clip(name: str, value: float, scale: float, offset: float, low: int, high: int) -> int:
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return min(max(round((value - offset) * scale), low), high)


def ruuvi_v5_payload(
    *,
    temperature_c: float | None = None,
    humidity_pct: float | None = None,
    pressure_pa: float | None = None,
    acceleration_mg: tuple[float | None, float | None, float | None] = (None, None, None),
    battery_mv: float | None = None,
    tx_power_dbm: float | None = None,
    movement_counter: int | None = None,
    sequence: int | None = None,
    mac: str | None = None,
) -> bytes:
    """Ruuvi manufacturer data in data format 5 (after the company id); None is "not available"."""
    if movement_counter is not None and not 0 <= movement_counter <= 254:
        raise ValueError(f"movement_counter must be in 0..254, got {movement_counter}")
    if sequence is not None and not 0 <= sequence <= 65_534:
        raise ValueError(f"sequence must be in 0..65534, got {sequence}")
    raw_mac = b"\xff" * 6
    if mac is not None:
        raw_mac = bytes.fromhex(mac.replace(":", ""))
        if len(raw_mac) != 6:
            raise ValueError(f"mac must be 6 bytes, got {mac!r}")
    missing = -0x8000  # "not available" of a signed 16-bit field
    temperature = missing if temperature_c is None else _clip("temperature_c", temperature_c, 200, 0, -32767, 32767)
    humidity = 0xFFFF if humidity_pct is None else _clip("humidity_pct", humidity_pct, 400, 0, 0, 65534)
    pressure = 0xFFFF if pressure_pa is None else _clip("pressure_pa", pressure_pa, 1, 50_000, 0, 65534)
    ax, ay, az = (missing if a is None else _clip("acceleration_mg", a, 1, 0, -32767, 32767) for a in acceleration_mg)
    battery = 0x7FF if battery_mv is None else _clip("battery_mv", battery_mv, 1, 1_600, 0, 2046)
    tx = 0x1F if tx_power_dbm is None else _clip("tx_power_dbm", tx_power_dbm, 0.5, -40, 0, 30)
    movement = 0xFF if movement_counter is None else movement_counter
    seq = 0xFFFF if sequence is None else sequence
    return _RUUVI.pack(0x05, temperature, humidity, pressure, ax, ay, az, battery << 5 | tx, movement, seq, raw_mac)


def frame_payload(frame: Frame) -> bytes:
    """The payload that parses back into ``frame`` (AltBeacon: without its company id)."""
    if isinstance(frame, IBeacon):
        return ibeacon_payload(frame.uuid, frame.major, frame.minor, frame.measured_power)
    if isinstance(frame, EddystoneUID):
        return eddystone_uid_payload(frame.namespace, frame.instance, frame.tx_power)
    if isinstance(frame, EddystoneURL):
        return eddystone_url_payload(frame.url, frame.tx_power)
    if isinstance(frame, EddystoneTLM):
        return eddystone_tlm_payload(frame.battery_mv, frame.temperature_c, frame.adv_count, frame.uptime_s)
    if isinstance(frame, EddystoneETLM):
        return eddystone_etlm_payload(frame.etlm, frame.salt, frame.mic)
    if isinstance(frame, EddystoneEID):
        return eddystone_eid_payload(frame.eid, frame.tx_power)
    if isinstance(frame, AltBeacon):
        return altbeacon_payload(frame.beacon_id, frame.reference_rssi, frame.mfg_reserved)
    return ruuvi_v5_payload(
        temperature_c=frame.temperature_c,
        humidity_pct=frame.humidity_pct,
        pressure_pa=frame.pressure_pa,
        acceleration_mg=frame.acceleration_mg,
        battery_mv=frame.battery_mv,
        tx_power_dbm=frame.tx_power_dbm,
        movement_counter=frame.movement_counter,
        sequence=frame.sequence,
        mac=frame.mac,
    )
