"""The source facade: one interface over the BLE backends (bleak | replay); the backend the
config names is opened by :func:`edge.beacons.backends.open_source`.

A source is an async context manager and an async iterator of items (advertisements, and, from a
trace, shelf readings and downlinks). It owns the clock the pipeline runs on: the wall clock for
the bleak backend, the trace's own time for a replay.

In real time the pipeline does not iterate it: it hands the source a :class:`Feed` (:meth:`Source.pump`)
and the source puts each item there from where it arrives (bleak's detection callback, a replay's
pacing loop). A feed is a plain deque, not a queue: no task, future or timer per item; the writer
is nudged once per burst and takes everything waiting in one go.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self

from edge.clock import Clock

if TYPE_CHECKING:
    from edge.inputs import Item


Admit = Callable[[Mapping[int, bytes], Mapping[str, bytes], float], bool]
"""(manufacturer data, service data, heard at) → whether the advert may be anybody's."""


@dataclass(slots=True)
class SourceCounters:
    """What a source has seen; read by health events and metrics."""

    adverts: int = 0
    bad_lines: int = 0
    queue_drops: int = 0
    restarts: int = 0
    skipped: int = 0
    """A replay started late on a shared start (``ble.start_at``): items that had played before it
    opened its trace, as a box misses what happened before it booted."""


class Feed:
    """Where a live source puts its items for the pipeline's writer.

    ``put`` appends to a deque; the first item after the writer took the last batch calls
    ``nudge`` (the writer wakes within its linger time), later ones only append. ``put_batch``
    (a replay's items that fell due together) calls ``wake``: the batch is complete, nothing is
    gained by waiting. Beyond ``limit`` waiting items an item is dropped and counted in
    ``counters.queue_drops`` (a writer that cannot keep up must not grow memory without bound).
    Everything runs on the event loop's thread: no lock.
    """

    __slots__ = ("_armed", "_counters", "_items", "_limit", "_nudge", "_taken", "_wake", "admit")

    def __init__(
        self,
        *,
        nudge: Callable[[], None],
        wake: Callable[[], None],
        counters: SourceCounters,
        limit: int,
        admit: Admit | None = None,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be >= 1")
        self._items: deque[Item] = deque()
        self._limit = limit
        self._counters = counters
        self._nudge = nudge
        self._wake = wake
        self._armed = False
        self._taken: asyncio.Future[None] | None = None
        self.admit = admit
        """Asked by a live source before it builds an advertisement: False, drop it (nobody's:
        edge.core.Core.admits, which counts it). None: every advert is built and put."""

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: Item) -> None:
        items = self._items
        if len(items) >= self._limit:
            self._counters.queue_drops += 1
            return
        items.append(item)
        if not self._armed:
            self._armed = True
            self._nudge()

    def put_batch(self, batch: list[Item]) -> None:
        items = self._items
        room = self._limit - len(items)
        if len(batch) > room:
            self._counters.queue_drops += len(batch) - max(room, 0)
            batch = batch[: max(room, 0)]
        items.extend(batch)
        self._armed = True
        self._wake()

    def take(self) -> deque[Item]:
        """Every waiting item, oldest first; the next ``put`` nudges the writer again."""
        items = self._items
        self._items = deque()
        self._armed = False
        taken, self._taken = self._taken, None
        if taken is not None and not taken.done():
            taken.set_result(None)
        return items

    async def taken(self) -> None:
        """Until the writer has taken what is waiting (a source that must not overrun the bound)."""
        if self._items:
            if self._taken is None:
                self._taken = asyncio.get_running_loop().create_future()
            await self._taken


class Source(Protocol):
    """What the pipeline reads items from."""

    clock: Clock
    counters: SourceCounters

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def __aiter__(self) -> AsyncIterator[Item]: ...

    async def pump(self, feed: Feed) -> None:
        """Put the items into ``feed`` as they arrive (in real time), until the source ends;
        raises what the source raised. The pipeline's real-time path runs this as one task."""
        ...

    def sync_items(self) -> Iterator[Item] | None:
        """The items without an await each (a replay at full speed: the pipeline's fast path), or
        None: read it with ``async for``."""
        ...
