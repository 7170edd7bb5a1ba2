"""The source facade: one interface over the BLE backends (bleak | replay).

A source is an async context manager and an async iterator of items (advertisements, and, from a
trace, shelf readings and downlinks). It owns the clock the pipeline runs on: the wall clock for
the bleak backend, the trace's own time for a replay. The backend is picked here, in one place,
with a local import, so D-Bus code is only imported where it is used (bleak's own habit).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self

from edge.clock import Clock

if TYPE_CHECKING:
    from edge.config import Config
    from edge.inputs import Item


@dataclass(slots=True)
class SourceCounters:
    """What a source has seen; read by health events and metrics."""

    adverts: int = 0
    bad_lines: int = 0
    queue_drops: int = 0
    restarts: int = 0


class Source(Protocol):
    """What the pipeline reads items from."""

    clock: Clock
    counters: SourceCounters

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def __aiter__(self) -> AsyncIterator[Item]: ...


def open_source(config: Config, *, fast: bool = False, strict: bool = False) -> Source:
    """The source the config names.

    ``fast`` plays a replay as fast as possible (``edge replay``); ``strict`` makes a bad trace line
    an error instead of a counted skip.
    """
    if config.ble.backend == "replay":
        from pathlib import Path

        from edge.beacons.replay import ReplaySource

        assert config.ble.trace is not None  # checked by edge.config
        return ReplaySource(Path(config.ble.trace), speed=None if fast else config.ble.speed, strict=strict)
    from edge.beacons.bleak_backend import BleakSource

    return BleakSource(
        scanner_id=config.ble.scanner or config.gateway.gateway,
        adapter=config.ble.adapter,
        watchdog_s=config.ble.watchdog_s,
        start_timeout_s=config.ble.start_timeout_s,
    )
