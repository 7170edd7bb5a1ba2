"""Pure parsers of BLE beacon payloads into :mod:`edge.beacons.frames` values.

Each ``parse_*`` function takes the payload bleak hands over (manufacturer data after the 2-byte
company id, or the service data of one UUID) and returns one frame or raises
:class:`~edge.errors.ParseError` — never anything else, whatever the bytes. Lengths and type
bytes are checked up front, so decoding is plain precompiled ``struct`` unpacking. They run for
every advertisement heard (tens of thousands a second), so they stay cheap: no regex, no copies.

Formats: Apple iBeacon; Eddystone UID, URL, TLM (plain and encrypted) and EID (github.com/google/
eddystone); AltBeacon v1.0 (github.com/AltBeacon/spec); RuuviTag data format 5 (docs.ruuvi.com).
All multi-byte fields are big-endian.
"""

from __future__ import annotations

import struct
from uuid import UUID

from edge.beacons.advert import APPLE_COMPANY_ID, EDDYSTONE_UUID, RUUVI_COMPANY_ID, Advertisement
from edge.beacons.frames import (
    URL_EXPANSIONS,
    URL_SCHEMES,
    AltBeacon,
    Eddystone,
    EddystoneEID,
    EddystoneETLM,
    EddystoneTLM,
    EddystoneUID,
    EddystoneURL,
    Frame,
    IBeacon,
    RuuviV5,
)
from edge.errors import ParseError

IBEACON_PREFIX = b"\x02\x15"
"""iBeacon type (0x02) and remaining length (0x15 = 21) after the company id."""
ALTBEACON_CODE = b"\xbe\xac"
"""AltBeacon beacon code, the first two bytes after the company id."""
RUUVI_V5 = 0x05
"""RuuviTag data format byte of RAWv2."""

EDDYSTONE_UID = 0x00
EDDYSTONE_URL = 0x10
EDDYSTONE_TLM = 0x20
EDDYSTONE_EID = 0x30
"""Eddystone frame type bytes (high nibble; the low nibble is reserved and must be 0)."""

EDDYSTONE_URL_MAX_BYTES = 17
"""Longest encoded URL the specification allows (what fits in a legacy advertisement)."""

_IBEACON = struct.Struct(">16sHHb")  # after 0x02 0x15: uuid, major, minor, power
_UID = struct.Struct(">b10s6s")  # after the frame type: ranging data, namespace, instance [, RFU]
_TLM = struct.Struct(">HhII")  # after type and version: battery, temperature, adv count, 0.1 s
_ETLM = struct.Struct(">12sHH")  # after type and version: ciphertext, salt, MIC
_EID = struct.Struct(">b8s")  # after the frame type: ranging data, EID
_ALTBEACON = struct.Struct(">20sbB")  # after 0xBEAC: id, reference RSSI, reserved
_RUUVI = struct.Struct(">hHHhhhHBH6s")  # after 0x05: see parse_ruuvi_v5

_TLM_NO_TEMPERATURE = -0x8000
_URL_TEXT: tuple[str, ...] = tuple(
    URL_EXPANSIONS[b] if b < len(URL_EXPANSIONS) else chr(b) if 0x21 <= b <= 0x7E else "" for b in range(256)
)
_URL_VALID = bytes(b for b in range(256) if _URL_TEXT[b])
_NO_MAC = b"\xff" * 6
_RUUVI_V5_PREFIX = bytes([RUUVI_V5])


def _error(frame: str, message: str) -> ParseError:
    return ParseError(message, frame=frame)


def parse_ibeacon(data: bytes) -> IBeacon:
    """An iBeacon from Apple manufacturer data (after the company id): exactly 23 bytes."""
    if len(data) != 23:
        raise _error("ibeacon", f"expected 23 bytes, got {len(data)}")
    if data[:2] != IBEACON_PREFIX:
        raise _error("ibeacon", f"expected the 0x0215 prefix, got 0x{data[:2].hex()}")
    raw_uuid, major, minor, power = _IBEACON.unpack_from(data, 2)
    return IBeacon(UUID(bytes=raw_uuid), major, minor, power)


def parse_eddystone(data: bytes) -> Eddystone:
    """An Eddystone frame from the service data of UUID 0xFEAA (frame type byte first)."""
    if not data:
        raise _error("eddystone", "empty service data")
    kind = data[0]
    if kind == EDDYSTONE_EID:
        return _eddystone_eid(data)
    if kind == EDDYSTONE_UID:
        return _eddystone_uid(data)
    if kind == EDDYSTONE_TLM:
        return _eddystone_tlm(data)
    if kind == EDDYSTONE_URL:
        return _eddystone_url(data)
    raise _error("eddystone", f"unknown frame type 0x{kind:02x}")


def _eddystone_uid(data: bytes) -> EddystoneUID:
    # 20 bytes with the two RFU bytes; 18 from beacons that truncate them (the spec allows both).
    if len(data) != 20 and len(data) != 18:
        raise _error("eddystone-uid", f"expected 18 or 20 bytes, got {len(data)}")
    tx_power, namespace, instance = _UID.unpack_from(data, 1)
    return EddystoneUID(namespace, instance, tx_power)


def _eddystone_url(data: bytes) -> EddystoneURL:
    if not 3 <= len(data) <= 3 + EDDYSTONE_URL_MAX_BYTES:
        raise _error("eddystone-url", f"expected 3..{3 + EDDYSTONE_URL_MAX_BYTES} bytes, got {len(data)}")
    scheme = data[2]
    if scheme >= len(URL_SCHEMES):
        raise _error("eddystone-url", f"unknown URL scheme 0x{scheme:02x}")
    body = data[3:]
    if body.translate(None, _URL_VALID):
        raise _error("eddystone-url", "reserved byte in the encoded URL")
    text = _URL_TEXT
    tx_power = data[1] - 256 if data[1] > 127 else data[1]
    return EddystoneURL(URL_SCHEMES[scheme] + "".join([text[b] for b in body]), tx_power)


def _eddystone_tlm(data: bytes) -> EddystoneTLM | EddystoneETLM:
    if len(data) < 2:
        raise _error("eddystone-tlm", "no TLM version byte")
    version = data[1]
    if version == 0x00:
        if len(data) != 14:
            raise _error("eddystone-tlm", f"expected 14 bytes, got {len(data)}")
        battery, temperature, adv_count, deciseconds = _TLM.unpack_from(data, 2)
        celsius = None if temperature == _TLM_NO_TEMPERATURE else temperature / 256
        return EddystoneTLM(0, battery, celsius, adv_count, deciseconds / 10)
    if version == 0x01:
        if len(data) != 18:
            raise _error("eddystone-etlm", f"expected 18 bytes, got {len(data)}")
        etlm, salt, mic = _ETLM.unpack_from(data, 2)
        return EddystoneETLM(etlm, salt, mic)
    raise _error("eddystone-tlm", f"unknown TLM version {version}")


def _eddystone_eid(data: bytes) -> EddystoneEID:
    if len(data) != 10:
        raise _error("eddystone-eid", f"expected 10 bytes, got {len(data)}")
    tx_power, eid = _EID.unpack_from(data, 1)
    return EddystoneEID(eid, tx_power)


def parse_altbeacon(company_id: int, data: bytes) -> AltBeacon:
    """An AltBeacon from manufacturer data (after the company id): 0xBEAC and 22 more bytes."""
    if not 0 <= company_id <= 0xFFFF:
        raise _error("altbeacon", f"company id {company_id} is not 16-bit")
    if len(data) != 24:
        raise _error("altbeacon", f"expected 24 bytes, got {len(data)}")
    if data[:2] != ALTBEACON_CODE:
        raise _error("altbeacon", f"expected the 0xBEAC code, got 0x{data[:2].hex()}")
    beacon_id, reference_rssi, reserved = _ALTBEACON.unpack_from(data, 2)
    return AltBeacon(company_id, beacon_id, reference_rssi, reserved)


def parse_ruuvi_v5(data: bytes) -> RuuviV5:
    """RuuviTag data format 5 from Ruuvi manufacturer data (after the company id): 24 bytes.

    "Not available" is the smallest signed / largest unsigned value of a field (MAC: all ones);
    each becomes None.
    """
    if len(data) != 24:
        raise _error("ruuvi-v5", f"expected 24 bytes, got {len(data)}")
    if data[0] != RUUVI_V5:
        raise _error("ruuvi-v5", f"expected data format 5, got {data[0]}")
    temp, humidity, pressure, ax, ay, az, power, movement, sequence, mac = _RUUVI.unpack_from(data, 1)
    battery, tx = power >> 5, power & 0x1F
    return RuuviV5(
        temperature_c=None if temp == -0x8000 else temp / 200,
        humidity_pct=None if humidity == 0xFFFF else humidity / 400,
        pressure_pa=None if pressure == 0xFFFF else pressure + 50_000,
        acceleration_mg=(
            None if ax == -0x8000 else ax,
            None if ay == -0x8000 else ay,
            None if az == -0x8000 else az,
        ),
        battery_mv=None if battery == 0x7FF else battery + 1_600,
        tx_power_dbm=None if tx == 0x1F else tx * 2 - 40,
        movement_counter=None if movement == 0xFF else movement,
        sequence=None if sequence == 0xFFFF else sequence,
        mac=None if mac == _NO_MAC else mac.hex(":").upper(),
    )


def parse_frames(adv: Advertisement) -> list[Frame]:
    """Every frame recognisable in ``adv``; payloads that do not parse are skipped. Never raises."""
    frames: list[Frame] = []
    for company_id, data in adv.manufacturer_data.items():
        try:
            if data[:2] == ALTBEACON_CODE:
                frames.append(parse_altbeacon(company_id, data))
            elif company_id == APPLE_COMPANY_ID and data[:2] == IBEACON_PREFIX:
                frames.append(parse_ibeacon(data))
            elif company_id == RUUVI_COMPANY_ID and data[:1] == _RUUVI_V5_PREFIX:
                frames.append(parse_ruuvi_v5(data))
        except ParseError:
            continue
    service_data = adv.service_data.get(EDDYSTONE_UUID)
    if service_data is not None:
        try:
            frame = parse_eddystone(service_data)
        except ParseError:
            return frames
        frames.append(frame)
    return frames
