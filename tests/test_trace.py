from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.beacons.advert import Advertisement
from edge.errors import TraceError
from edge.inputs import Downlink, ShelfReading
from edge.trace import TraceReader, header_line, item_line, parse_start
from tests.helpers import START, card_advert


def read_all(raw: bytes) -> list[object]:
    reader = TraceReader(iter(raw.splitlines(keepends=True)), path="t.jsonl")
    return list(reader)


def test_the_design_example_lines_read() -> None:
    raw = (
        b'{"kind": "header", "start": "2026-11-23T10:00:00Z"}\n'
        b'{"t": 1.25, "kind": "ble", "scanner": "gw-1", "address": "AA:BB:CC:DD:EE:FF", "rssi": -67, '
        b'"tx_power": null, "local_name": null, "manufacturer_data": {"76": "0215aa"}, '
        b'"service_data": {"0000FEAA-0000-1000-8000-00805f9b34fb": "30ff"}, "service_uuids": []}\n'
        b'{"t": 3.0, "kind": "shelf", "shelf": "shelf-a3", "action": "pickup", "sku": "4006381333931"}\n'
        b'{"t": 9.0, "kind": "downlink", "topic": "cdp/v1/store-1/roster", "payload": {"version": 7}}\n'
    )
    adv, shelf, down = read_all(raw)
    assert isinstance(adv, Advertisement)
    assert adv.at == START + 1.25
    assert adv.manufacturer_data == {76: bytes.fromhex("0215aa")}
    assert adv.service_data == {"0000feaa-0000-1000-8000-00805f9b34fb": b"\x30\xff"}
    assert shelf == ShelfReading(START + 3.0, "shelf-a3", "pickup", "4006381333931")
    assert isinstance(down, Downlink)
    assert down.payload == b'{"version": 7}'


def test_items_round_trip_through_lines() -> None:
    items = [card_advert(START + 0.5), ShelfReading(START + 2, "s1", "touch", "1"), Downlink(START + 3, "x", b"{}")]
    raw = header_line(START) + b"".join(item_line(item, START) for item in items)
    assert read_all(raw) == items


@pytest.mark.parametrize(
    ("line", "what"),
    [
        (b'{"t": 1, "kind": "ble"}', "missing required field `scanner`"),
        (b'{"t": 1, "kind": "bogus"}', "Invalid value '…' - at `$.kind`"),
        (
            b'{"t": -1, "kind": "shelf", "shelf": "s", "action": "pickup", "sku": "1"}',
            "expected `float` >= 0.0 - at `$.t`",
        ),
        (b'{"t": 1, "kind": "shelf", "shelf": "s", "action": "steal", "sku": "1"}', "action"),
        (b'{"t": 1, "kind": "ble", "scanner": "g", "address": "a", "rssi": 99}', "expected `int` <= 20 - at `$.rssi`"),
        (
            b'{"t": 1, "kind": "ble", "scanner": "g", "address": "a", "rssi": -50, "manufacturer_data": {"76": "zz"}}',
            "not hex",
        ),
        (
            b'{"t": 1, "kind": "ble", "scanner": "g", "address": "a", "rssi": -50, "manufacturer_data": {"70000": ""}}',
            "<= 65535 - at `key` in `$.manufacturer_data`",
        ),
        (b"not json", "malformed"),
    ],
)
def test_a_bad_line_names_the_file_the_line_and_the_problem(line: bytes, what: str) -> None:
    raw = header_line(START) + item_line(card_advert(START), START) + line + b"\n"
    reader = TraceReader(iter(raw.splitlines(keepends=True)), path="t.jsonl")
    next(reader)
    with pytest.raises(TraceError) as err:
        next(reader)
    assert err.value.line == 3
    assert str(err.value).startswith("t.jsonl:3: ")
    assert what.lower() in str(err.value).lower()


def test_the_reader_goes_on_after_a_bad_line() -> None:
    raw = header_line(START) + b"garbage\n" + item_line(card_advert(START + 1), START)
    reader = TraceReader(iter(raw.splitlines(keepends=True)), path="t")
    with pytest.raises(TraceError):
        next(reader)
    assert next(reader) == card_advert(START + 1)


def test_the_header_is_required(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(item_line(card_advert(START), START))
    reader = TraceReader.open(path)
    with pytest.raises(TraceError, match="first line must be the header"):
        reader.read_header()
    reader.close()
    with pytest.raises(TraceError, match="cannot open"):
        TraceReader.open(tmp_path / "missing.jsonl")


def test_start_parses_rfc3339() -> None:
    assert parse_start("2026-11-23T10:00:00Z") == START
    assert parse_start("2026-11-23T11:00:00+01:00") == START


@given(st.binary(max_size=300))
def test_any_line_reads_or_raises_trace_error(line: bytes) -> None:
    raw = header_line(START) + line.replace(b"\n", b" ") + b"\n"
    reader = TraceReader(iter(raw.splitlines(keepends=True)), path="t")
    with contextlib.suppress(TraceError):
        list(reader)
