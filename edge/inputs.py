"""Values that enter the pipeline: BLE advertisements, shelf readings and CDP downlinks.

``Advertisement.address`` exists only inside the process: it is never an identity (phones randomise
it) and never written to an event, a row or a log line. Identity comes from payloads that resolve
against the consent roster (:mod:`edge.identity`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, TypeAlias

import msgspec


class Advertisement(msgspec.Struct, frozen=True, gc=False):
    """One advertisement as heard by one scanner (an immutable value; a msgspec Struct rather than a
    dataclass because it is built ~100 k times a second and its constructor is 15x cheaper).

    Attributes:
        at: when it was heard, Unix seconds (trace header start + ``t`` during a replay).
        scanner: id of the radio that heard it (a zone's ``scanners`` refer to it).
        address: the sender's Bluetooth address; in-process only, never an identity.
        rssi: received signal strength in dBm.
        tx_power: advertised TX power in dBm, if the packet carries it.
        local_name: advertised local name, if any.
        manufacturer_data: company id → payload after the company id.
        service_data: 128-bit service UUID (lower case) → payload.
        service_uuids: advertised service UUIDs.
    """

    at: float
    scanner: str
    address: str
    rssi: int
    tx_power: int | None = None
    local_name: str | None = None
    manufacturer_data: Mapping[int, bytes] = msgspec.field(default_factory=dict)
    service_data: Mapping[str, bytes] = msgspec.field(default_factory=dict)
    service_uuids: tuple[str, ...] = ()


ShelfAction: TypeAlias = Literal["pickup", "putback", "touch"]
SHELF_ACTIONS: frozenset[str] = frozenset({"pickup", "putback", "touch"})


@dataclass(frozen=True, slots=True)
class ShelfReading:
    """A shelf controller's reading (topic ``edge/v1/{store}/shelf/{shelf}`` or a trace ``shelf`` line)."""

    at: float
    shelf: str
    action: ShelfAction
    sku: str


@dataclass(frozen=True, slots=True)
class Downlink:
    """A message from the CDP: its topic and its raw JSON payload, validated by whoever consumes it."""

    at: float
    topic: str
    payload: bytes


Item: TypeAlias = Advertisement | ShelfReading | Downlink
"""Anything a source yields into the pipeline."""
