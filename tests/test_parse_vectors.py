"""The parsers against published vectors, and against beacontools on generated payloads.

Payloads are what bleak hands over: manufacturer data after the company id, or Eddystone service
data (frame type first). Each vector names its source next to it.
"""

from __future__ import annotations

import struct
from uuid import UUID

import beacontools
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.beacons.advert import EDDYSTONE_UUID, RUUVI_COMPANY_ID, Advertisement
from edge.beacons.build import eddystone_url_payload, frame_payload
from edge.beacons.frames import (
    URL_EXPANSIONS,
    URL_SCHEMES,
    AltBeacon,
    EddystoneEID,
    EddystoneETLM,
    EddystoneTLM,
    EddystoneUID,
    EddystoneURL,
    IBeacon,
    RuuviV5,
)
from edge.beacons.parse import (
    parse_altbeacon,
    parse_eddystone,
    parse_frames,
    parse_ibeacon,
    parse_ruuvi_v5,
)
from edge.errors import ParseError

CROSS_CHECK = settings(max_examples=150, deadline=None)


def _hex(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


# --- beacontools' own tests: github.com/citruz/beacontools, tests/test_parser.py -----------------
# Its vectors are whole advertisements; these are the payloads inside them.


def test_beacontools_eddystone_uid() -> None:
    # test_eddystone_uid: "...\x17\x16\xaa\xfe\x00\xe3\x12\x34\x56\x78\x90\x12\x34\x67\x89\x01\x00..."
    frame = parse_eddystone(_hex("00 e3 12345678901234678901 000000000001 0000"))
    assert frame == EddystoneUID(_hex("12345678901234678901"), _hex("000000000001"), -29)


def test_beacontools_eddystone_url() -> None:
    # test_eddystone_url: b"\x03\x03\xAA\xFE\x13\x16\xAA\xFE\x10\xF8\x03github\x00citruz"
    assert parse_eddystone(b"\x10\xf8\x03github\x00citruz") == EddystoneURL("https://github.com/citruz", -8)


def test_beacontools_eddystone_tlm() -> None:
    # test_eddystone_tlm: "\x11\x16\xaa\xfe\x20\x00\x0b\x18\x13\x00\x00\x00\x14\x67\x00\x00\x2a\xc4"
    # beacontools reports seconds_since_boot 10948: the raw SEC_CNT, which the spec counts in 0.1 s.
    frame = parse_eddystone(_hex("20 00 0b18 1300 00001467 00002ac4"))
    assert frame == EddystoneTLM(0, 2840, 19.0, 5223, 1094.8)


def test_beacontools_eddystone_encrypted_tlm() -> None:
    # test_eddystone_tlm_enc: "\x20\x01" + b"A" * 12 + "\xDE\xAD\xBE\xFF". beacontools reads salt and
    # MIC little-endian (44510, 65470); the spec (eddystone-tlm/tlm-encrypted.md) says "All
    # multi-byte values are big-endian", so salt is 0xDEAD and MIC 0xBEFF.
    frame = parse_eddystone(b"\x20\x01" + b"A" * 12 + _hex("DEAD BEFF"))
    assert frame == EddystoneETLM(b"AAAAAAAAAAAA", 0xDEAD, 0xBEFF)


def test_beacontools_eddystone_eid() -> None:
    # test_eddystone_eid: "\x0d\x16\xaa\xfe\x30\xe3\x45\x49\x44\x5f\x74\x65\x73\x74"
    assert parse_eddystone(_hex("30 e3 4549445f74657374")) == EddystoneEID(b"EID_test", -29)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        # test_ibeacon: "\x1a\xff\x4c\x00\x02\x15\x41\x42...\x46\x00\x01\x00\x02\xf8"
        (
            "0215 41424344454647484940414243444546 0001 0002 f8",
            IBeacon(UUID("41424344-4546-4748-4940-414243444546"), 1, 2, -8),
        ),
        # test_cypress_beacon: "\x1a\xff\x4c\x00\x02\x15\x00\x05\x00\x01...\x01\x31\x00\x02\x6c\x66\xc3"
        (
            "0215 00050001000010008000 00805f9b0131 0002 6c66 c3",
            IBeacon(UUID("00050001-0000-1000-8000-00805f9b0131"), 2, 0x6C66, -61),
        ),
    ],
)
def test_beacontools_ibeacon(payload: str, expected: IBeacon) -> None:
    assert parse_ibeacon(_hex(payload)) == expected


def test_beacontools_bad_frame_type() -> None:
    # test_bad_packets, last vector: a UID-shaped frame with frame type 0x01 (reserved low nibble).
    with pytest.raises(ParseError):
        parse_eddystone(_hex("01 e3 12345678901234678901 000000000001 0000"))


# --- Ruuvi data format 5: docs.ruuvi.com/communication/bluetooth-advertisements/data-format-5-rawv2
# (also github.com/ruuvi/ruuvi-sensor-protocols, dataformat_05.md), section "Test vectors".
CB_MAC = "CB:B8:33:4C:88:4F"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (  # Case: valid data
            "0512FC5394C37C0004FFFC040CAC364200CDCBB8334C884F",
            RuuviV5(24.3, 53.49, 100_044, (4, -4, 1036), 2977, 4, 66, 205, CB_MAC),
        ),
        (  # Case: maximum values
            "057FFFFFFEFFFE7FFF7FFF7FFFFFDEFEFFFECBB8334C884F",
            RuuviV5(163.835, 163.835, 115_534, (32767,) * 3, 3646, 20, 254, 65534, CB_MAC),
        ),
        (  # Case: minimum values
            "058001000000008001800180010000000000CBB8334C884F",
            RuuviV5(-163.835, 0.0, 50_000, (-32767,) * 3, 1600, -40, 0, 0, CB_MAC),
        ),
        (  # Case: Invalid values (every field "NAN")
            "058000FFFFFFFF800080008000FFFFFFFFFFFFFFFFFFFFFF",
            RuuviV5(None, None, None, (None, None, None), None, None, None, None, None),
        ),
    ],
)
def test_ruuvi_v5_vectors(raw: str, expected: RuuviV5) -> None:
    payload = _hex(raw)
    assert parse_ruuvi_v5(payload) == expected
    # "The tests are bidirectional, decode-encode results in original raw data."
    assert frame_payload(expected) == payload
    adv = Advertisement(0.0, "gw-1", "CB:B8:33:4C:88:4F", -60, manufacturer_data={RUUVI_COMPANY_ID: payload})
    assert parse_frames(adv) == [expected]


@pytest.mark.parametrize(
    ("offset", "raw", "field", "value"),
    [
        # Same page, "Data field descriptions" example tables, patched into the valid-data vector.
        (1, "01C3", "temperature_c", 2.255),
        (1, "FE3D", "temperature_c", -2.255),
        (3, f"{10010:04X}", "humidity_pct", 25.025),
        (3, f"{40000:04X}", "humidity_pct", 100.0),
        (5, f"{51325:04X}", "pressure_pa", 101_325),
        (7, "FC18", "acceleration_mg", (-1000, -4, 1036)),
        (7, "03E8", "acceleration_mg", (1000, -4, 1036)),
        (13, f"{1400 << 5 | 22:04X}", "battery_mv", 3000),
        (13, f"{1400 << 5 | 22:04X}", "tx_power_dbm", 4),
        (13, f"{1400 << 5 | 0:04X}", "tx_power_dbm", -40),
        (15, "64", "movement_counter", 100),
        (16, f"{1000:04X}", "sequence", 1000),
    ],
)
def test_ruuvi_v5_field_examples(offset: int, raw: str, field: str, value: object) -> None:
    payload = bytearray(_hex("0512FC5394C37C0004FFFC040CAC364200CDCBB8334C884F"))
    patch = _hex(raw)
    payload[offset : offset + len(patch)] = patch
    assert getattr(parse_ruuvi_v5(bytes(payload)), field) == pytest.approx(value)


# --- AltBeacon: github.com/AltBeacon/spec (README, "AltBeacon Protocol Fields") and its reference
# transmitter github.com/RadiusNetworks/altbeacon-reference, altbeacon_transmit:
# "1b ff 18 01 be ac" + ID1 16 x "00" + ID2 "00 01" + ID3 "00 01" + "c5" + "01".
ALTBEACON_REFERENCE = _hex("be ac" + "00" * 16 + "0001 0001" + "c5" + "01")


def test_altbeacon_reference_transmitter() -> None:
    assert len(ALTBEACON_REFERENCE) + 3 == 0x1B  # AD length: type byte + company id + 24 bytes
    frame = parse_altbeacon(0x0118, ALTBEACON_REFERENCE)
    assert frame == AltBeacon(0x0118, bytes(16) + _hex("0001 0001"), -59, 0x01)
    adv = Advertisement(0.0, "gw-1", "00:00:00:00:00:01", -70, manufacturer_data={0x0118: ALTBEACON_REFERENCE})
    assert parse_frames(adv) == [frame]


def test_altbeacon_wrong_code_or_length() -> None:
    # Spec: "BEACON CODE ... 0xBEAC"; the advertisement carries exactly 24 bytes after the company id.
    with pytest.raises(ParseError):
        parse_altbeacon(0x0118, b"\xbe\xad" + ALTBEACON_REFERENCE[2:])
    with pytest.raises(ParseError):
        parse_altbeacon(0x0118, ALTBEACON_REFERENCE[:-1])


# --- Eddystone: github.com/google/eddystone -----------------------------------------------------


@pytest.mark.parametrize(("byte", "dbm"), [(0x12, 18), (0xEE, -18)])
def test_eddystone_tx_power_examples(byte: int, dbm: int) -> None:
    # eddystone-url/README.md, "Tx Power Level", Examples: 0x12 is +18 dBm, 0xEE is -18 dBm.
    url = parse_eddystone(bytes([0x10, byte, 0x03]) + b"goo.gl/S6zT6P")
    uid = parse_eddystone(bytes([0x00, byte]) + bytes(18))
    eid = parse_eddystone(bytes([0x30, byte]) + bytes(8))
    assert isinstance(url, EddystoneURL)
    assert isinstance(uid, EddystoneUID)
    assert isinstance(eid, EddystoneEID)
    assert url.tx_power == uid.tx_power == eid.tx_power == dbm


def test_eddystone_url_spec_example() -> None:
    # eddystone-url/README.md: "https://goo.gl/S6zT6P"; scheme 0x03 is "https://".
    payload = eddystone_url_payload("https://goo.gl/S6zT6P", -18)
    assert payload == b"\x10\xee\x03goo.gl/S6zT6P"
    assert parse_eddystone(payload) == EddystoneURL("https://goo.gl/S6zT6P", -18)


@pytest.mark.parametrize(("code", "expansion"), list(enumerate(URL_EXPANSIONS)))
def test_eddystone_url_expansion_table(code: int, expansion: str) -> None:
    # eddystone-url/README.md, "HTTP URL encoding" table 0x00..0x0d; scheme table 0x00..0x03.
    for scheme, prefix in enumerate(URL_SCHEMES):
        frame = parse_eddystone(bytes([0x10, 0x00, scheme]) + b"a" + bytes([code]) + b"b")
        assert frame == EddystoneURL(f"{prefix}a{expansion}b", 0)


@pytest.mark.parametrize("reserved", [0x0E, 0x19, 0x20, 0x7F, 0x80, 0xFF])
def test_eddystone_url_reserved_bytes(reserved: int) -> None:
    # Same table: 0x0e..0x20 and 0x7f..0xff are "Reserved for Future Use".
    with pytest.raises(ParseError):
        parse_eddystone(bytes([0x10, 0x00, 0x03, 0x61, reserved]))


def test_eddystone_url_unknown_scheme_and_length() -> None:
    with pytest.raises(ParseError):  # scheme prefixes are 0x00..0x03 only
        parse_eddystone(b"\x10\x00\x04abc")
    with pytest.raises(ParseError):  # "Encoded URL | Length 0-17"
        parse_eddystone(b"\x10\x00\x03" + b"a" * 18)
    assert parse_eddystone(b"\x10\x00\x00") == EddystoneURL("http://www.", 0)


def test_eddystone_uid_elided_uuid_namespace() -> None:
    # eddystone-uid/README.md, "Elided Version 4 UUID": 8b0ca750-e7a7-4e14-bd99-095477cb3e77 gives
    # the namespace 8b0ca750095477cb3e77. Length byte 0x17 (20 bytes) or, truncated, 0x15 (18).
    namespace = _hex("8b0ca750095477cb3e77")
    full = b"\x00\xee" + namespace + _hex("000000000001") + b"\x00\x00"
    for payload in (full, full[:18]):
        assert parse_eddystone(payload) == EddystoneUID(namespace, _hex("000000000001"), -18)
    for bad in (full[:17], full[:19], full + b"\x00"):
        with pytest.raises(ParseError):
            parse_eddystone(bad)


def test_eddystone_tlm_field_notes() -> None:
    # eddystone-tlm/tlm-plain.md: length byte 0x11 (14 bytes), battery 0 when not measured,
    # temperature signed 8.8 fixed point, 0x8000 when not supported, SEC_CNT in 0.1 s.
    assert parse_eddystone(_hex("2000 0000 8000 00000000 00000000")) == EddystoneTLM(0, 0, None, 0, 0.0)
    frame = parse_eddystone(_hex("2000 0c1c ff80 0000ffff 0000000b"))
    assert frame == EddystoneTLM(0, 3100, -0.5, 0xFFFF, 1.1)
    for bad in ("2000 0c1c ff80 0000ffff 000000", "2000 0c1c ff80 0000ffff 0000000b 00", "2002" + "00" * 12):
        with pytest.raises(ParseError):
            parse_eddystone(_hex(bad))


def test_eddystone_etlm_and_eid_lengths() -> None:
    # tlm-encrypted.md: 2 + 12 + 2 + 2 bytes; eddystone-eid/README.md: "fixed and shall be
    # truncated after the EID bytes" (10 bytes).
    with pytest.raises(ParseError):
        parse_eddystone(b"\x20\x01" + bytes(15))
    with pytest.raises(ParseError):
        parse_eddystone(b"\x30\x00" + bytes(9))
    assert parse_eddystone(b"\x30\x00" + bytes(8)) == EddystoneEID(bytes(8), 0)
    adv = Advertisement(0.0, "gw-1", "00:00:00:00:00:02", -70, service_data={EDDYSTONE_UUID: b"\x30\x00" + bytes(8)})
    assert parse_frames(adv) == [EddystoneEID(bytes(8), 0)]


# --- Cross-check: our parser and beacontools agree on generated payloads --------------------------
# beacontools parses whole advertisements, so each payload is wrapped in its AD structure.


def _beacontools_apple(data: bytes) -> object:
    return beacontools.parse_packet(b"\x02\x01\x06" + bytes([len(data) + 3, 0xFF, 0x4C, 0x00]) + data)


def _beacontools_eddystone(data: bytes) -> object:
    header = b"\x02\x01\x06\x03\x03\xaa\xfe" + bytes([len(data) + 3, 0x16, 0xAA, 0xFE])
    return beacontools.parse_packet(header + data)


@CROSS_CHECK
@given(st.binary(min_size=21, max_size=21))
def test_cross_check_ibeacon(body: bytes) -> None:
    ours = parse_ibeacon(b"\x02\x15" + body)
    theirs = _beacontools_apple(b"\x02\x15" + body)
    assert isinstance(theirs, beacontools.IBeaconAdvertisement)
    assert (str(ours.uuid), ours.major, ours.minor, ours.measured_power) == (
        theirs.uuid,
        theirs.major,
        theirs.minor,
        theirs.tx_power,
    )


@CROSS_CHECK
@given(st.binary(min_size=17, max_size=17), st.booleans())
def test_cross_check_eddystone_uid(body: bytes, rfu: bool) -> None:
    data = b"\x00" + body + (b"\x00\x00" if rfu else b"")
    ours, theirs = parse_eddystone(data), _beacontools_eddystone(data)
    assert isinstance(ours, EddystoneUID)
    assert isinstance(theirs, beacontools.EddystoneUIDFrame)
    assert (ours.namespace.hex(), ours.instance.hex(), ours.tx_power) == (
        theirs.namespace,
        theirs.instance,
        theirs.tx_power,
    )


_URL_PIECES = st.one_of(st.sampled_from(URL_EXPANSIONS), st.characters(min_codepoint=0x21, max_codepoint=0x7E))


@CROSS_CHECK
@given(st.sampled_from(URL_SCHEMES), st.lists(_URL_PIECES, max_size=17), st.integers(-128, 127))
def test_cross_check_eddystone_url(scheme: str, pieces: list[str], tx_power: int) -> None:
    url = scheme + "".join(pieces)
    data = eddystone_url_payload(url, tx_power)
    ours, theirs = parse_eddystone(data), _beacontools_eddystone(data)
    assert isinstance(theirs, beacontools.EddystoneURLFrame)
    assert ours == EddystoneURL(theirs.url, theirs.tx_power) == EddystoneURL(url, tx_power)


@CROSS_CHECK
@given(st.binary(min_size=12, max_size=12))
def test_cross_check_eddystone_tlm(body: bytes) -> None:
    ours, theirs = parse_eddystone(b"\x20\x00" + body), _beacontools_eddystone(b"\x20\x00" + body)
    assert isinstance(ours, EddystoneTLM)
    assert isinstance(theirs, beacontools.EddystoneTLMFrame)
    assert (ours.battery_mv, ours.adv_count) == (theirs.voltage, theirs.advertising_count)
    assert ours.uptime_s == theirs.seconds_since_boot / 10  # beacontools leaves SEC_CNT in 0.1 s
    # beacontools reads the temperature unsigned; the spec's 8.8 is signed, with 0x8000 "not supported".
    expected = 128.0 if ours.temperature_c is None else ours.temperature_c % 256
    assert theirs.temperature == expected


@CROSS_CHECK
@given(st.binary(min_size=16, max_size=16))
def test_cross_check_eddystone_etlm(body: bytes) -> None:
    ours, theirs = parse_eddystone(b"\x20\x01" + body), _beacontools_eddystone(b"\x20\x01" + body)
    assert isinstance(ours, EddystoneETLM)
    assert isinstance(theirs, beacontools.EddystoneEncryptedTLMFrame)
    assert ours.etlm == theirs.encrypted_data
    # beacontools reads salt and MIC little-endian; the spec says big-endian (see above).
    swapped = struct.unpack(">HH", struct.pack("<HH", theirs.salt, theirs.mic))
    assert (ours.salt, ours.mic) == swapped


@CROSS_CHECK
@given(st.binary(min_size=9, max_size=9))
def test_cross_check_eddystone_eid(body: bytes) -> None:
    ours, theirs = parse_eddystone(b"\x30" + body), _beacontools_eddystone(b"\x30" + body)
    assert isinstance(theirs, beacontools.EddystoneEIDFrame)
    assert ours == EddystoneEID(theirs.eid, theirs.tx_power)
