"""The source facade: one interface over the BLE backends (bleak | replay); the backend the
config names is opened by :func:`edge.beacons.backends.open_source`.

A source is an async context manager and an async iterator of items (advertisements, and, from a
trace, shelf readings and downlinks). It owns the clock the pipeline runs on: the wall clock for
the bleak backend, the trace's own time for a replay.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self

from edge.clock import Clock

if TYPE_CHECKING:
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

    def sync_items(self) -> Iterator[Item] | None:
        """The items without an await each (a replay at full speed: the pipeline's fast path), or
        None: read it with ``async for``."""
        ...
