"""Values that enter the pipeline besides advertisements: shelf readings and CDP downlinks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

from edge.beacons.advert import Advertisement

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
