"""Properties of the parsers: ParseError or a frame for any bytes, and encode/decode round trips."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.beacons.advert import APPLE_COMPANY_ID, EDDYSTONE_UUID, RUUVI_COMPANY_ID, Advertisement
from edge.beacons.build import (
    altbeacon_payload,
    eddystone_eid_payload,
    eddystone_uid_payload,
    eddystone_url_payload,
    frame_payload,
    ibeacon_payload,
    ruuvi_v5_payload,
)
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

MODEST = settings(max_examples=150, deadline=None)
FRAME_TYPES = (IBeacon, EddystoneUID, EddystoneURL, EddystoneTLM, EddystoneETLM, EddystoneEID, AltBeacon, RuuviV5)

# Valid payloads of every format: a fixed prefix, then arbitrary bytes of the right length.
ibeacons = st.binary(min_size=21, max_size=21).map(lambda b: b"\x02\x15" + b)
uids = st.builds(
    lambda b, rfu: b"\x00" + b + (b"\x00\x00" if rfu else b""), st.binary(min_size=17, max_size=17), st.booleans()
)
url_pieces = st.one_of(st.sampled_from(URL_EXPANSIONS), st.characters(min_codepoint=0x21, max_codepoint=0x7E))
urls = st.builds(lambda s, p: s + "".join(p), st.sampled_from(URL_SCHEMES), st.lists(url_pieces, max_size=17))
url_payloads = st.builds(eddystone_url_payload, urls, st.integers(-128, 127))
tlms = st.binary(min_size=12, max_size=12).map(lambda b: b"\x20\x00" + b)
etlms = st.binary(min_size=16, max_size=16).map(lambda b: b"\x20\x01" + b)
eids = st.binary(min_size=9, max_size=9).map(lambda b: b"\x30" + b)
eddystones = st.one_of(uids, url_payloads, tlms, etlms, eids)
altbeacons = st.binary(min_size=22, max_size=22).map(lambda b: b"\xbe\xac" + b)
ruuvis = st.binary(min_size=23, max_size=23).map(lambda b: b"\x05" + b)


@st.composite
def mutated(draw: st.DrawFn, valid: st.SearchStrategy[bytes]) -> bytes:
    """A valid payload truncated, extended, bit-flipped or with one byte replaced."""
    data = bytearray(draw(valid))
    how = draw(st.sampled_from(["truncate", "extend", "flip", "replace"]))
    if how == "truncate":
        return bytes(data[: draw(st.integers(0, max(len(data) - 1, 0)))])
    if how == "extend":
        return bytes(data) + draw(st.binary(min_size=1, max_size=8))
    if not data:
        return b""
    at = draw(st.integers(0, len(data) - 1))
    data[at] = data[at] ^ (1 << draw(st.integers(0, 7))) if how == "flip" else draw(st.integers(0, 255))
    return bytes(data)


def _frame_or_parse_error(parse: Callable[[bytes], object], data: bytes, kinds: tuple[type, ...]) -> None:
    try:
        frame = parse(data)
    except ParseError:
        return
    assert isinstance(frame, kinds)


def _payloads(valid: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    return st.one_of(st.binary(max_size=32), valid, mutated(valid))


@MODEST
@given(_payloads(ibeacons))
def test_parse_ibeacon_returns_or_raises_parse_error(data: bytes) -> None:
    _frame_or_parse_error(parse_ibeacon, data, (IBeacon,))


@MODEST
@given(_payloads(eddystones))
def test_parse_eddystone_returns_or_raises_parse_error(data: bytes) -> None:
    kinds = (EddystoneUID, EddystoneURL, EddystoneTLM, EddystoneETLM, EddystoneEID)
    _frame_or_parse_error(parse_eddystone, data, kinds)


@MODEST
@given(st.one_of(st.integers(0, 0xFFFF), st.integers()), _payloads(altbeacons))
def test_parse_altbeacon_returns_or_raises_parse_error(company_id: int, data: bytes) -> None:
    _frame_or_parse_error(lambda d: parse_altbeacon(company_id, d), data, (AltBeacon,))


@MODEST
@given(_payloads(ruuvis))
def test_parse_ruuvi_v5_returns_or_raises_parse_error(data: bytes) -> None:
    _frame_or_parse_error(parse_ruuvi_v5, data, (RuuviV5,))


company_ids = st.one_of(st.sampled_from([APPLE_COMPANY_ID, RUUVI_COMPANY_ID, 0x0118]), st.integers(0, 0xFFFF))
any_payload = st.one_of(
    st.binary(max_size=32),
    *(_payloads(s) for s in (ibeacons, eddystones, altbeacons, ruuvis)),
)
service_keys = st.one_of(st.just(EDDYSTONE_UUID), st.just("0000feab-0000-1000-8000-00805f9b34fb"))
adverts = st.builds(
    Advertisement,
    at=st.floats(0, 2e9),
    scanner=st.just("gw-1"),
    address=st.just("AA:BB:CC:DD:EE:FF"),
    rssi=st.integers(-120, 0),
    manufacturer_data=st.dictionaries(company_ids, any_payload, max_size=3),
    service_data=st.dictionaries(service_keys, any_payload, max_size=2),
)


@MODEST
@given(adverts)
def test_parse_frames_never_raises(adv: Advertisement) -> None:
    frames = parse_frames(adv)
    assert all(isinstance(frame, FRAME_TYPES) for frame in frames)
    assert len(frames) <= len(adv.manufacturer_data) + 1


# Round trips: every valid payload decodes to a frame that encodes back to the same bytes.


@MODEST
@given(st.one_of(ibeacons, uids.filter(lambda d: len(d) == 20), tlms, etlms, eids, ruuvis))
def test_payload_parse_build_round_trip(data: bytes) -> None:
    parse = parse_ruuvi_v5 if data[0] == 0x05 else parse_ibeacon if data[0] == 0x02 else parse_eddystone
    assert frame_payload(parse(data)) == data


@MODEST
@given(st.integers(0, 0xFFFF), altbeacons)
def test_altbeacon_round_trip(company_id: int, data: bytes) -> None:
    frame = parse_altbeacon(company_id, data)
    assert frame.company_id == company_id
    assert frame_payload(frame) == data
    adv = Advertisement(0.0, "gw-1", "AA:BB:CC:DD:EE:FF", -50, manufacturer_data={company_id: data})
    assert parse_frames(adv) == [frame]


@MODEST
@given(st.uuids(), st.integers(0, 0xFFFF), st.integers(0, 0xFFFF), st.integers(-128, 127))
def test_ibeacon_fields_round_trip(uuid: UUID, major: int, minor: int, power: int) -> None:
    frame = IBeacon(uuid, major, minor, power)
    payload = ibeacon_payload(uuid, major, minor, power)
    assert parse_ibeacon(payload) == frame
    adv = Advertisement(0.0, "gw-1", "AA:BB:CC:DD:EE:FF", -50, manufacturer_data={APPLE_COMPANY_ID: payload})
    assert parse_frames(adv) == [frame]


@MODEST
@given(st.binary(min_size=10, max_size=10), st.binary(min_size=6, max_size=6), st.integers(-128, 127), st.booleans())
def test_eddystone_uid_fields_round_trip(namespace: bytes, instance: bytes, tx: int, rfu: bool) -> None:
    payload = eddystone_uid_payload(namespace, instance, tx, rfu=rfu)
    assert len(payload) == (20 if rfu else 18)
    assert parse_eddystone(payload) == EddystoneUID(namespace, instance, tx)


@MODEST
@given(st.binary(min_size=8, max_size=8), st.integers(-128, 127))
def test_eddystone_eid_fields_round_trip(eid: bytes, tx: int) -> None:
    payload = eddystone_eid_payload(eid, tx)
    adv = Advertisement(0.0, "gw-1", "AA:BB:CC:DD:EE:FF", -50, service_data={EDDYSTONE_UUID: payload})
    assert parse_frames(adv) == [EddystoneEID(eid, tx)]


@MODEST
@given(urls, st.integers(-128, 127))
def test_eddystone_url_round_trip(url: str, tx: int) -> None:
    payload = eddystone_url_payload(url, tx)
    assert len(payload) <= 20
    assert parse_eddystone(payload) == EddystoneURL(url, tx)


@MODEST
@given(url_payloads)
def test_eddystone_url_encoding_is_stable(payload: bytes) -> None:
    frame = parse_eddystone(payload)
    assert parse_eddystone(frame_payload(frame)) == frame


@MODEST
@given(
    st.floats(-163.835, 163.835),
    st.floats(0, 163.835),
    st.integers(50_000, 115_534),
    st.tuples(*[st.none() | st.integers(-32767, 32767)] * 3),
    st.integers(1_600, 3_646),
    st.integers(-20, 10).map(lambda n: n * 2),
    st.none() | st.integers(0, 254),
    st.none() | st.integers(0, 65_534),
)
def test_ruuvi_v5_fields_round_trip(
    t: float,
    h: float,
    p: int,
    acc: tuple[int | None, int | None, int | None],
    mv: int,
    tx: int,
    movement: int | None,
    seq: int | None,
) -> None:
    payload = ruuvi_v5_payload(
        temperature_c=t,
        humidity_pct=h,
        pressure_pa=p,
        acceleration_mg=acc,
        battery_mv=mv,
        tx_power_dbm=tx,
        movement_counter=movement,
        sequence=seq,
        mac="C0:FF:EE:00:00:01",
    )
    frame = parse_ruuvi_v5(payload)
    assert frame.temperature_c is not None
    assert abs(frame.temperature_c - t) <= 0.0025 + 1e-9  # half a 0.005 °C step
    assert frame.humidity_pct is not None
    assert abs(frame.humidity_pct - h) <= 0.00125 + 1e-9  # half a 0.0025 % step
    assert (frame.pressure_pa, frame.acceleration_mg, frame.battery_mv, frame.tx_power_dbm) == (p, acc, mv, tx)
    assert (frame.movement_counter, frame.sequence, frame.mac) == (movement, seq, "C0:FF:EE:00:00:01")


@MODEST
@given(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6))
def test_ruuvi_v5_clips_out_of_range_measurements(t: float, p: float) -> None:
    frame = parse_ruuvi_v5(ruuvi_v5_payload(temperature_c=t, pressure_pa=p))
    assert frame.temperature_c is not None
    assert frame.pressure_pa is not None
    assert -163.835 <= frame.temperature_c <= 163.835
    assert 50_000 <= frame.pressure_pa <= 115_534
    assert frame.humidity_pct is frame.battery_mv is frame.mac is None


@MODEST
@given(st.integers(0, 0xFFFF), st.binary(min_size=20, max_size=20), st.integers(-128, 127), st.integers(0, 255))
def test_altbeacon_fields_round_trip(company_id: int, beacon_id: bytes, rssi: int, reserved: int) -> None:
    payload = altbeacon_payload(beacon_id, rssi, reserved)
    assert parse_altbeacon(company_id, payload) == AltBeacon(company_id, beacon_id, rssi, reserved)


@pytest.mark.parametrize(
    "build",
    [
        lambda: ibeacon_payload(UUID(int=0), 0x10000, 0, 0),
        lambda: ibeacon_payload(UUID(int=0), 0, 0, -129),
        lambda: eddystone_uid_payload(bytes(9), bytes(6), 0),
        lambda: eddystone_eid_payload(bytes(8), 128),
        lambda: eddystone_url_payload("ftp://example.com", 0),
        lambda: eddystone_url_payload("https://a b", 0),
        lambda: eddystone_url_payload("https://" + "x" * 18, 0),
        lambda: altbeacon_payload(bytes(19), -59),
        lambda: ruuvi_v5_payload(movement_counter=255),
        lambda: ruuvi_v5_payload(sequence=65_535),
        lambda: ruuvi_v5_payload(temperature_c=float("nan")),
        lambda: ruuvi_v5_payload(mac="CB:B8:33:4C:88"),
    ],
)
def test_builders_reject_impossible_fields(build: Callable[[], bytes]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the builders' one documented error
        build()


_RUUVI_OK = RuuviV5(24.3, 53.49, 100_044, (4, -4, 1036), 2977, 4, 66, 205, "CB:B8:33:4C:88:4F")


@pytest.mark.parametrize(
    "change",
    [
        {"temperature_c": float("nan")},
        {"temperature_c": 163.84},
        {"humidity_pct": -0.1},
        {"pressure_pa": 49_999},
        {"acceleration_mg": (0, 0, -32_768)},
        {"acceleration_mg": (0, 0)},
        {"battery_mv": 3_647},
        {"tx_power_dbm": 3},
        {"tx_power_dbm": 22},
        {"movement_counter": 255},
        {"sequence": 65_535},
        {"mac": "cb:b8:33:4c:88:4f"},
        {"mac": "C::B8:33:4C:88:4F"},
    ],
)
def test_ruuvi_v5_rejects_impossible_fields(change: dict[str, object]) -> None:
    fields = {name: getattr(_RUUVI_OK, name) for name in RuuviV5.__dataclass_fields__}
    with pytest.raises(ValueError, match=next(iter(change))):
        RuuviV5(**(fields | change))  # type: ignore[arg-type]
