"""The trace format (JSON Lines): reading and writing, as shared/DESIGN.md defines it.

The first line is a header with the wall-clock ``start``; every other line has ``t`` (seconds since
start) and a ``kind``: ``ble``, ``shelf`` or ``downlink``. A bad line raises :class:`TraceError`
naming the file, the line and the problem.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal

import msgspec

from edge.beacons.advert import Advertisement
from edge.errors import TraceError
from edge.inputs import Downlink, Item, ShelfReading

RSSI_MIN_DBM = -127
"""Lowest RSSI a BLE controller reports (HCI: -127 means "not available")."""
RSSI_MAX_DBM = 20
"""Highest RSSI a BLE controller reports (HCI range -127..+20 dBm)."""


class _Header(msgspec.Struct, tag_field="kind", tag="header", forbid_unknown_fields=False):
    start: str


class _Ble(msgspec.Struct, tag_field="kind", tag="ble"):
    t: float
    scanner: str
    address: str
    rssi: int
    tx_power: int | None = None
    local_name: str | None = None
    manufacturer_data: dict[int, str] = msgspec.field(default_factory=dict)
    service_data: dict[str, str] = msgspec.field(default_factory=dict)
    service_uuids: list[str] = msgspec.field(default_factory=list)


class _Shelf(msgspec.Struct, tag_field="kind", tag="shelf"):
    t: float
    shelf: str
    action: Literal["pickup", "putback", "touch"]
    sku: str


class _Downlink(msgspec.Struct, tag_field="kind", tag="downlink"):
    t: float
    topic: str
    payload: msgspec.Raw


_Line = _Header | _Ble | _Shelf | _Downlink
_decoder: msgspec.json.Decoder[_Line] = msgspec.json.Decoder(_Line)
_encoder = msgspec.json.Encoder()


def parse_start(text: str) -> float:
    """An RFC 3339 timestamp → Unix seconds; naive times are taken as UTC."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def format_time(unix: float) -> str:
    """Unix seconds → RFC 3339 in UTC with milliseconds and a ``Z``."""
    moment = datetime.fromtimestamp(unix, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _check_t(t: float) -> None:
    if not math.isfinite(t) or t < 0:
        raise ValueError(f"t must be a finite number of seconds >= 0, got {t!r}")


def _to_item(line: _Ble | _Shelf | _Downlink, start: float) -> Item:
    _check_t(line.t)
    if type(line) is _Ble:
        if not RSSI_MIN_DBM <= line.rssi <= RSSI_MAX_DBM:
            raise ValueError(f"rssi {line.rssi} dBm is outside {RSSI_MIN_DBM}..{RSSI_MAX_DBM}")
        try:
            manufacturer = {cid: bytes.fromhex(hexa) for cid, hexa in line.manufacturer_data.items()}
            service = {uuid.lower(): bytes.fromhex(hexa) for uuid, hexa in line.service_data.items()}
        except ValueError as err:
            raise ValueError(f"payload is not hex: {err}") from None
        for cid in manufacturer:
            if not 0 <= cid <= 0xFFFF:
                raise ValueError(f"company id {cid} is outside 0..65535")
        return Advertisement(
            at=start + line.t,
            scanner=line.scanner,
            address=line.address,
            rssi=line.rssi,
            tx_power=line.tx_power,
            local_name=line.local_name,
            manufacturer_data=manufacturer,
            service_data=service,
            service_uuids=tuple(line.service_uuids),
        )
    if type(line) is _Shelf:
        return ShelfReading(at=start + line.t, shelf=line.shelf, action=line.action, sku=line.sku)
    assert type(line) is _Downlink
    return Downlink(at=start + line.t, topic=line.topic, payload=bytes(line.payload))


class TraceReader:
    """Reads a trace line by line; ``start`` is known once the header has been read.

    Bad lines raise :class:`TraceError` (``path:line: what``). A caller that must go on after a bad
    line (``edge run``) catches it, counts it and continues with the next line.
    """

    def __init__(self, lines: Iterator[bytes], *, path: str, handle: BinaryIO | None = None) -> None:
        self._lines = lines
        self._handle = handle
        self.path = path
        self.line_no = 0
        self.start: float | None = None

    @classmethod
    def open(cls, path: Path) -> TraceReader:
        try:
            handle = path.open("rb")
        except OSError as err:
            raise TraceError(f"cannot open the trace: {err.strerror}", path=str(path), line=0) from None
        return cls(iter(handle), path=str(path), handle=handle)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()

    def read_header(self) -> float:
        for raw in self._lines:
            self.line_no += 1
            if not raw.strip():
                continue
            try:
                line = _decoder.decode(raw)
            except msgspec.DecodeError as err:
                raise TraceError(f"bad header: {err}", path=self.path, line=self.line_no) from None
            if not isinstance(line, _Header):
                raise TraceError(
                    'the first line must be the header {"kind": "header", "start": "<RFC 3339>"}',
                    path=self.path,
                    line=self.line_no,
                )
            try:
                self.start = parse_start(line.start)
            except ValueError:
                raise TraceError(
                    f"header start {line.start!r} is not an RFC 3339 time", path=self.path, line=self.line_no
                ) from None
            return self.start
        raise TraceError("the trace is empty: it needs a header line", path=self.path, line=self.line_no)

    def __iter__(self) -> Iterator[Item]:
        return self

    def __next__(self) -> Item:
        start = self.start if self.start is not None else self.read_header()
        for raw in self._lines:
            self.line_no += 1
            try:
                line = _decoder.decode(raw)
            except msgspec.DecodeError as err:
                if not raw.strip():
                    continue
                raise TraceError(str(err), path=self.path, line=self.line_no) from None
            if type(line) is _Header:
                raise TraceError("a second header line", path=self.path, line=self.line_no)
            try:
                return _to_item(line, start)  # type: ignore[arg-type]
            except ValueError as err:
                raise TraceError(str(err), path=self.path, line=self.line_no) from None
        raise StopIteration


def header_line(start: float) -> bytes:
    return _encoder.encode({"kind": "header", "start": format_time(start)}) + b"\n"


def item_line(item: Item, start: float) -> bytes:
    """One trace line (with its newline) for ``item``, times relative to ``start``."""
    t = round(item.at - start, 6)
    body: dict[str, Any]
    if isinstance(item, Advertisement):
        body = {
            "t": t,
            "kind": "ble",
            "scanner": item.scanner,
            "address": item.address,
            "rssi": item.rssi,
            "tx_power": item.tx_power,
            "local_name": item.local_name,
            "manufacturer_data": {str(cid): data.hex() for cid, data in item.manufacturer_data.items()},
            "service_data": {uuid: data.hex() for uuid, data in item.service_data.items()},
            "service_uuids": list(item.service_uuids),
        }
    elif isinstance(item, ShelfReading):
        body = {"t": t, "kind": "shelf", "shelf": item.shelf, "action": item.action, "sku": item.sku}
    else:
        body = {"t": t, "kind": "downlink", "topic": item.topic, "payload": msgspec.Raw(item.payload)}
    return _encoder.encode(body) + b"\n"
