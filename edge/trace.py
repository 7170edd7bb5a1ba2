"""The trace format (JSON Lines): reading and writing, as docs/trace-format.md describes it.

The first line is a header with the wall-clock ``start``; every other line has ``t`` (seconds since
start) and a ``kind``: ``ble``, ``shelf`` or ``downlink``. A bad line raises :class:`TraceError`
naming the file, the line and the problem, whatever is wrong with it: too long
(:data:`LINE_MAX_BYTES`), nesting too deep (:mod:`edge.limits`), malformed, out of range, or
anything the decoder raises (``RecursionError`` included) — never a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, BinaryIO, Literal

import msgspec

from edge.errors import TraceError
from edge.inputs import Advertisement, Downlink, Item, ShelfReading
from edge.limits import scrub, too_deep
from edge.timefmt import format_time as format_time  # re-exported: the trace format writes this time
from edge.timefmt import parse_start as parse_start

RSSI_MIN_DBM = -127
"""Lowest RSSI a BLE controller reports (HCI: -127 means "not available")."""
RSSI_MAX_DBM = 20
"""Highest RSSI a BLE controller reports (HCI range -127..+20 dBm)."""


class _Header(msgspec.Struct, tag_field="kind", tag="header", forbid_unknown_fields=False):
    start: str


T_MAX_S = 10 * 365 * 86_400.0
"""A trace longer than ten years is a corrupt ``t``, not a recording."""

LINE_MAX_BYTES = 8 * 1024 * 1024
"""Longest line read: a downlink line holds at most a 4 MiB payload (the MQTT limit), escaped."""

_T = Annotated[float, msgspec.Meta(ge=0.0, le=T_MAX_S)]
_Rssi = Annotated[int, msgspec.Meta(ge=RSSI_MIN_DBM, le=RSSI_MAX_DBM)]
_CompanyId = Annotated[int, msgspec.Meta(ge=0, le=0xFFFF)]
_TxPower = Annotated[int, msgspec.Meta(ge=-127, le=127)]
_Name = Annotated[str, msgspec.Meta(max_length=256)]
"""Scanner ids, addresses, local names, UUIDs, shelf and SKU ids, topics: short words."""
_AdvHex = Annotated[str, msgspec.Meta(max_length=512)]
"""An advertisement's data as hex: an extended advertisement carries at most 255 bytes."""
_FIELDS_MAX = 64
"""Entries of an advertisement's manufacturer data, service data or service UUIDs."""


class _Ble(msgspec.Struct, tag_field="kind", tag="ble", gc=False):
    t: _T
    scanner: _Name
    address: _Name
    rssi: _Rssi
    tx_power: _TxPower | None = None
    local_name: _Name | None = None
    manufacturer_data: Annotated[dict[_CompanyId, _AdvHex], msgspec.Meta(max_length=_FIELDS_MAX)] = msgspec.field(
        default_factory=dict
    )
    service_data: Annotated[dict[_Name, _AdvHex], msgspec.Meta(max_length=_FIELDS_MAX)] = msgspec.field(
        default_factory=dict
    )
    service_uuids: Annotated[list[_Name], msgspec.Meta(max_length=_FIELDS_MAX)] = msgspec.field(default_factory=list)


class _Shelf(msgspec.Struct, tag_field="kind", tag="shelf"):
    t: _T
    shelf: _Name
    action: Literal["pickup", "putback", "touch"]
    sku: _Name


class _Downlink(msgspec.Struct, tag_field="kind", tag="downlink"):
    t: _T
    topic: _Name
    payload: msgspec.Raw


_Line = _Header | _Ble | _Shelf | _Downlink
_decoder: msgspec.json.Decoder[_Line] = msgspec.json.Decoder(_Line)
_encoder = msgspec.json.Encoder()


_fromhex = bytes.fromhex


def _decode(raw: bytes) -> _Line:
    """One line decoded; raises ValueError (its message without payload values) for any bad line."""
    try:
        return _decoder.decode(raw)
    except msgspec.DecodeError as err:
        if len(raw) > LINE_MAX_BYTES:
            raise ValueError(f"the line is over {LINE_MAX_BYTES} bytes") from None
        if too_deep(raw):
            raise ValueError("the line nests too deep (or its brackets do not balance)") from None
        raise ValueError(scrub(str(err))) from None
    except RecursionError:
        raise ValueError("the line nests too deep") from None
    except Exception as err:  # noqa: BLE001 - any bad line is file:line, never a traceback
        raise ValueError(f"cannot decode the line: {type(err).__name__}") from None


def _to_item(line: _Ble | _Shelf | _Downlink, start: float) -> Item:
    """A decoded line → its item (msgspec has checked the ranges; this checks the hex)."""
    if type(line) is _Ble:
        try:
            manufacturer = (
                {cid: _fromhex(h) for cid, h in line.manufacturer_data.items()} if line.manufacturer_data else {}
            )
            service = {uuid.lower(): _fromhex(h) for uuid, h in line.service_data.items()} if line.service_data else {}
        except ValueError as err:
            raise ValueError(f"payload is not hex: {err}") from None
        return Advertisement(
            start + line.t,
            line.scanner,
            line.address,
            line.rssi,
            line.tx_power,
            line.local_name,
            manufacturer,
            service,
            tuple(line.service_uuids) if line.service_uuids else (),
        )
    if type(line) is _Shelf:
        return ShelfReading(at=start + line.t, shelf=line.shelf, action=line.action, sku=line.sku)
    assert type(line) is _Downlink
    return Downlink(at=start + line.t, topic=line.topic, payload=bytes(line.payload))


def _bounded_lines(handle: BinaryIO) -> Iterator[bytes]:
    """The file's lines; one over :data:`LINE_MAX_BYTES` is cut there (its decoding then fails as
    too long) and the rest of it skipped, so a line without an end never fills the memory."""
    readline = handle.readline
    while line := readline(LINE_MAX_BYTES + 1):
        if len(line) > LINE_MAX_BYTES and not line.endswith(b"\n"):
            while (rest := readline(LINE_MAX_BYTES)) and not rest.endswith(b"\n"):
                pass
        yield line


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
        return cls(_bounded_lines(handle), path=str(path), handle=handle)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()

    def read_header(self) -> float:
        for raw in self._lines:
            self.line_no += 1
            if not raw.strip():
                continue
            try:
                line = _decode(raw)
            except ValueError as err:
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
                line = _decode(raw)
            except ValueError as err:
                if not raw.strip():
                    continue
                raise TraceError(str(err), path=self.path, line=self.line_no) from None
            if type(line) is _Header:
                raise TraceError("a second header line", path=self.path, line=self.line_no)
            try:
                return _to_item(line, start)  # type: ignore[arg-type]
            except Exception as err:  # noqa: BLE001 - any bad line is file:line, never a traceback
                raise TraceError(scrub(str(err)), path=self.path, line=self.line_no) from None
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
