"""The replay backend: items from a trace file (or any time-ordered iterator), on the trace's time.

Played in real time (``speed`` 1.0), faster (4.0: four times), or as fast as possible
(``speed=None``: the clock jumps to each item's time). During a replay the trace's time is "now"
for everything, so a replay gives the same events whatever day it runs.

In (scaled) real time the pipeline's writer is fed per batch (:meth:`ItemsSource.pump`): one sleep
for all the items that fall due within :data:`PACE_S`, not one per item.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import TracebackType
from typing import Final, Self

from edge.beacons.advert import Advertisement
from edge.beacons.source import Feed, SourceCounters
from edge.clock import Clock, ManualClock, ScaledClock, SystemClock
from edge.errors import TraceError
from edge.inputs import Downlink, Item
from edge.trace import TraceReader

log = logging.getLogger(__name__)

PACE_S: Final = 0.25
"""Real seconds of items a real-time replay hands over at once: those due within this much of now,
each up to this early and late only by the loop's own latency (the core runs every item's timers
on its trace time, in order, so early is exact where late would let a tick overtake an item).
One wake-up per 250 ms instead of one per item (800 a second in a busy store): per-second costs
are what limit a replay at a few hundred items a second (benchmarks/realtime_cost.py). 250 ms is
the presence engine's tick: the items handed over run the timers past the next tick, so the
writer's own tick finds nothing due and does not wake it (edge.pipeline); at 100 ms a replay at
200 items/s cost 27 µs per item, most of it the 24 wake-ups a second."""

MANUAL_CHUNK: Final = 1000
"""Items handed over at a time by a replay on a manual clock fed in real-time mode (no pacing), and the
most a paced replay hands over at once (a trace with thousands of items at one instant): then it waits
for the writer to take them, so the feed's bound never drops one and the event loop is never held."""


class ItemsSource:
    """A source over a time-ordered iterator of items starting at Unix time ``start``."""

    def __init__(
        self,
        items: Iterator[Item],
        *,
        start: float,
        speed: float | None = 1.0,
        start_at: float | None = None,
        wall: Clock | None = None,
    ) -> None:
        self._items = items
        self.start = start
        self.speed = speed
        self.start_at = start_at
        self._wall: Clock = wall or SystemClock()
        self._held: deque[Item] = deque()
        self.clock: Clock = ManualClock(start) if speed is None else ScaledClock(start, speed)
        self.counters = SourceCounters()

    async def __aenter__(self) -> Self:
        """Starts the (scaled) real-time clock: at the trace's start now, or, with ``start_at``
        (Unix seconds on the wall clock), where the trace is at that moment -- every process given
        the same ``start_at`` plays the same moment together, as boxes of one store share the wall
        clock. What had played before (a process that came up late) is skipped and counted
        (``skipped``), as a box misses what happened before it booted; the CDP's messages are not."""
        if self.speed is None:
            return self
        start = self.start
        if self.start_at is not None:
            start += (self._wall.now() - self.start_at) * self.speed
        self.clock = ScaledClock(start, self.speed)
        if start > self.start:
            self._skip_before(start)
        return self

    def _skip_before(self, at: float) -> None:
        """Skips the sightings (adverts, shelf readings) before ``at``; the CDP's messages among them are
        kept, handed over first: the store broker keeps them (retained) for a box that boots late."""
        skipped = 0
        kept: list[Item] = []
        while (item := self._next()) is not None and item.at < at:
            if type(item) is Downlink:
                kept.append(item)
            else:
                skipped += 1
        if item is not None:
            kept.append(item)
        self._held = deque(kept)
        self.counters.skipped += skipped
        if skipped:
            late = (at - self.start) / (self.speed or 1.0)
            log.info("the shared start was %.1f s ago: skipped %d trace items", late, skipped)

    def _first(self) -> Item | None:
        """The next item, those kept by :meth:`_skip_before` first."""
        held = self._held
        return held.popleft() if held else self._next()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    def _next(self) -> Item | None:
        return next(self._items, None)

    def sync_items(self) -> Iterator[Item] | None:
        """As fast as possible, without an await per item (``edge replay``): the clock jumps to
        each item. None when the items are played in (scaled) real time."""
        clock = self.clock
        if self.speed is not None or not isinstance(clock, ManualClock):
            return None
        return self._sync_items(clock)

    def _sync_items(self, clock: ManualClock) -> Iterator[Item]:
        counters = self.counters
        advert = Advertisement
        while (item := self._next()) is not None:
            clock.set(item.at)
            if type(item) is advert:
                counters.adverts += 1
            yield item

    async def pump(self, feed: Feed) -> None:
        """The items into ``feed`` on the clock, a batch at a time: those due within :data:`PACE_S`,
        then one sleep of at least PACE_S, until the next is that close (``speed`` None: in
        chunks, as fast as the writer takes them)."""
        clock = self.clock
        if isinstance(clock, ManualClock):
            chunk: list[Item] = []
            for item in self._sync_items(clock):
                chunk.append(item)
                if len(chunk) >= MANUAL_CHUNK:
                    feed.put_batch(chunk)
                    chunk = []
                    await feed.taken()
            if chunk:
                feed.put_batch(chunk)
            return
        assert isinstance(clock, ScaledClock)
        counters = self.counters
        advert = Advertisement
        ahead = PACE_S * (self.speed or 1.0)  # trace seconds
        pause = 0.0  # then PACE_S: one hand-over per PACE_S however dense the items
        upcoming = self._first()
        while upcoming is not None:
            await asyncio.sleep(max(clock.real_delay(upcoming.at - ahead), pause))
            horizon = clock.now() + ahead
            batch: list[Item] = []
            while upcoming is not None and upcoming.at <= horizon:
                if type(upcoming) is advert:
                    counters.adverts += 1
                batch.append(upcoming)
                upcoming = self._first()
                if len(batch) >= MANUAL_CHUNK:  # a burst denser than one hand-over: give it, wait till taken
                    feed.put_batch(batch)
                    batch = []
                    await feed.taken()
            if batch:
                feed.put_batch(batch)
                pause = PACE_S

    async def __aiter__(self) -> AsyncIterator[Item]:
        clock = self.clock
        counters = self.counters
        item = self._first()
        while item is not None:
            if isinstance(clock, ManualClock):
                clock.set(item.at)
            elif isinstance(clock, ScaledClock):
                delay = clock.real_delay(item.at)
                if delay > 0:
                    await asyncio.sleep(delay)
            if type(item) is Advertisement:
                counters.adverts += 1
            yield item
            item = self._first()


class ReplaySource(ItemsSource):
    """A source over a trace file. ``strict``: a bad line raises :class:`TraceError`; otherwise it
    is logged (file and line, never its content), counted, and skipped."""

    def __init__(
        self, path: Path, *, speed: float | None = 1.0, strict: bool = False, start_at: float | None = None
    ) -> None:
        self._reader = TraceReader.open(path)
        try:
            start = self._reader.read_header()
        except TraceError:
            self._reader.close()
            raise
        super().__init__(iter(()), start=start, speed=speed, start_at=start_at)
        self._strict = strict

    def _next(self) -> Item | None:
        while True:
            try:
                return next(self._reader)
            except StopIteration:
                return None
            except TraceError as err:
                if self._strict:
                    raise
                self.counters.bad_lines += 1
                log.error("skipped a bad trace line: %s", err)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._reader.close()
