"""The async pipeline around the pure core: source → core → outbox → sinks.

Durable before visible: events reach a sink only after their batch is committed to the outbox.
In fast mode (``edge replay``) the clock is the trace's and batches are large; in real time the
loop wakes at least every tick so exit timers fire without waiting for the next advertisement.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import asdict

from edge import constants as c
from edge.beacons.replay import ItemsSource
from edge.beacons.source import Source
from edge.core import Core
from edge.events import Event
from edge.inputs import Item
from edge.outbox import Outbox

Sink = Callable[[Event], None]


class Pipeline:
    def __init__(self, core: Core, outbox: Outbox, sinks: list[Sink] | None = None) -> None:
        self.core = core
        self.outbox = outbox
        self.sinks: list[Sink] = list(sinks or [])
        self._pending: list[Event] = []
        self._next_health: float | None = None
        self._health_due = float("-inf")
        self._source: Source | None = None
        self.health_extra: list[Callable[[], dict[str, int]]] = []
        """More counters for ``edge.gateway.health`` (the MQTT sync's), each called per health event."""
        self.beats = 0
        """Turns of the real-time loop (at least one per tick): the systemd watchdog pings only
        while this moves (edge.ops.service), so a wedged loop gets the service restarted."""

    async def flush(self) -> None:
        """Commit the pending batch, then hand it to the sinks."""
        if not self._pending:
            return
        batch = self._pending[:]
        self._pending.clear()
        await self.outbox.append(batch)
        for event in batch:
            for sink in self.sinks:
                sink(event)

    async def publish(self, events: list[Event]) -> None:
        """Events from another part of the gateway (impressions, verifications): committed, then sunk."""
        self._pending.extend(events)
        await self.flush()

    async def _purge_withdrawn(self, now: float) -> None:
        core = self.core
        while core.withdrawn:
            token = core.withdrawn.pop(0)
            before = len(self._pending)
            self._pending[:] = [e for e in self._pending if e.token != token]
            purged = before - len(self._pending) + await self.outbox.purge_token(token)
            self._pending.append(core.withdrawn_event(token, purged, now))
            await self.flush()

    async def _health(self, now: float) -> None:
        interval = self.core.config.presence.health_interval_s
        if self._next_health is None:
            self._next_health = self._health_due = now + interval
            return
        if now < self._next_health:
            return
        self._next_health = self._health_due = now + interval
        extra = {"outbox_depth": await self.outbox.depth() + len(self._pending), "outbox_dropped": self.outbox.dropped}
        for more in self.health_extra:
            extra.update(more())
        if self._source is not None:
            extra.update({f"source_{k}": v for k, v in asdict(self._source.counters).items()})
        self._pending.append(self.core.health_event(now, extra))

    async def step(self, item: Item | None, now: float) -> None:
        """Advance the timers to ``now`` and take one item (None: timers only)."""
        core = self.core
        events = core.advance(now)
        if item is not None:
            found = core.handle(item)
            if found:
                events.extend(found)
        if events:
            self._pending.extend(events)
        if core.withdrawn:
            await self._purge_withdrawn(now)
        await self._health(now)

    async def run_fast(self, source: Source, stop: asyncio.Event | None = None) -> None:
        """As fast as possible, on the items' own time (``edge replay``), until the source ends
        or ``stop`` is set (checked per item: a signal handler sets it while the loop is busy).

        A replay source is read synchronously, and the loop awaits only for I/O (a full batch, a
        withdrawal's purge, a health event): the hot path is the pure core.
        """
        self._source = source
        stopped = (stop or asyncio.Event()).is_set
        if not isinstance(source, ItemsSource) or source.speed is not None:
            async for item in source:
                await self.step(item, item.at)
                if len(self._pending) >= c.OUTBOX_BATCH_MAX:
                    await self.flush()
                if stopped():
                    break
            await self.flush()
            return
        core = self.core
        advance, handle = core.advance, core.handle
        pending = self._pending
        batch_max = c.OUTBOX_BATCH_MAX
        for item in source.sync_items():
            now = item.at
            events = advance(now)
            if events:
                pending.extend(events)
            found = handle(item)
            if found:
                pending.extend(found)
            if core.withdrawn:
                await self._purge_withdrawn(now)
            if now >= self._health_due:
                await self._health(now)
            if len(pending) >= batch_max:
                await self.flush()
            if stopped():
                break
        await self.flush()

    async def run_live(self, source: Source, stop: asyncio.Event) -> None:
        """In real time until ``stop`` is set or the source ends; timers tick even in silence."""
        self._source = source
        queue: asyncio.Queue[Item | None] = asyncio.Queue(maxsize=c.SCANNER_QUEUE_MAX)
        tick_s = self.core.config.presence.tick_interval_s

        async def feed() -> None:
            try:
                async for item in source:
                    await queue.put(item)
            finally:
                task = asyncio.current_task()
                # Cancelled on a stop: nobody reads the queue any more, and on a full one (a backlog)
                # putting the end marker would wait forever and hang the shutdown.
                if task is None or not task.cancelling():
                    await queue.put(None)

        feeder = asyncio.create_task(feed(), name="edge-source")
        stopper = asyncio.create_task(stop.wait(), name="edge-stop")
        try:
            while not stop.is_set():
                self.beats += 1
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({getter, stopper}, timeout=tick_s, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    await self.step(None, source.clock.now())
                    await self.flush()
                    continue
                item = getter.result()
                if item is None:
                    break
                await self.step(item, source.clock.now())
                if queue.empty() or len(self._pending) >= c.OUTBOX_BATCH_MAX:
                    await self.flush()
            await self.flush()
            if not stop.is_set():
                await feeder  # the source ended: re-raise its failure, if any
        finally:
            for task in (feeder, stopper):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
