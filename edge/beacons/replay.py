"""The replay backend: items from a trace file (or any time-ordered iterator), on the trace's time.

Played in real time (``speed`` 1.0), faster (4.0: four times), or as fast as possible
(``speed=None``: the clock jumps to each item's time). During a replay the trace's time is "now"
for everything, so a replay gives the same events whatever day it runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import TracebackType
from typing import Self

from edge.beacons.advert import Advertisement
from edge.beacons.source import SourceCounters
from edge.clock import Clock, ManualClock, ScaledClock
from edge.errors import TraceError
from edge.inputs import Item
from edge.trace import TraceReader

log = logging.getLogger(__name__)


class ItemsSource:
    """A source over a time-ordered iterator of items starting at Unix time ``start``."""

    def __init__(self, items: Iterator[Item], *, start: float, speed: float | None = 1.0) -> None:
        self._items = items
        self.start = start
        self.speed = speed
        self.clock: Clock = ManualClock(start) if speed is None else ScaledClock(start, speed)
        self.counters = SourceCounters()

    async def __aenter__(self) -> Self:
        if self.speed is not None:
            self.clock = ScaledClock(self.start, self.speed)
        return self

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

    async def __aiter__(self) -> AsyncIterator[Item]:
        clock = self.clock
        counters = self.counters
        while (item := self._next()) is not None:
            if isinstance(clock, ManualClock):
                clock.set(item.at)
            elif isinstance(clock, ScaledClock):
                delay = clock.real_delay(item.at)
                if delay > 0:
                    await asyncio.sleep(delay)
            if type(item) is Advertisement:
                counters.adverts += 1
            yield item


class ReplaySource(ItemsSource):
    """A source over a trace file. ``strict``: a bad line raises :class:`TraceError`; otherwise it
    is logged (file and line, never its content), counted, and skipped."""

    def __init__(self, path: Path, *, speed: float | None = 1.0, strict: bool = False) -> None:
        self._reader = TraceReader.open(path)
        try:
            start = self._reader.read_header()
        except TraceError:
            self._reader.close()
            raise
        super().__init__(iter(()), start=start, speed=speed)
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
