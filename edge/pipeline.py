"""The async pipeline around the pure core: source → core → outbox → sinks; the core's one writer.

Durable before visible: events reach a sink only after their batch is committed to the outbox.
Everything that changes the core goes through the pipeline's one writer task (:meth:`serve`, in
the gateway's task group): the source's items, the timers, and the messages other parts
:meth:`deliver` (downlinks from the broker), which wait in one inbox and get a commit future: it
resolves with the core's :class:`~edge.router.Decision` once the effects are committed (events in
the outbox, the last good state saved), so the broker's message is acknowledged only then. A
consent withdrawal jumps the inbox queue: it takes effect at the writer's next turn.

In fast mode (``edge replay``) the clock is the trace's and batches are large. In real time the
source puts its items into a :class:`~edge.beacons.source.Feed` (a deque) from where they arrive,
and the writer takes everything waiting in one go: it is woken once per burst, at most
:data:`LINGER_S` after the burst's first item (a message, a tick or a stop wakes it at once), and
commits that turn's events in one transaction. The timers run from one repeating ``call_later``
every tick, so exit timers fire in silence too. No task, future or timer per advertisement: the
cost of an advert is the core's pure work, not event-loop wake-ups (benchmarks/realtime_cost.py).
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Final

from edge import constants as c
from edge.beacons.source import Feed, Source
from edge.clock import Clock
from edge.core import Core
from edge.events import Event
from edge.inputs import Downlink, Item, ShelfReading
from edge.laststate import StateStore
from edge.outbox import Outbox
from edge.presence import Sightings
from edge.router import Decision
from edge.tasks import cancel_and_wait, finish

Sink = Callable[[Event], None]
Unsubscribe = Callable[[], None]

_Message = tuple[Downlink | ShelfReading | Sightings, int | None, "asyncio.Future[Decision]"]
"""In the inbox: the message, the sender's size limit, its commit future."""

LINGER_S: Final = 0.05
"""In real time, how long the first advertisement of a burst may wait for the writer: the ones
that arrive meanwhile are taken in the same turn (one wake-up, one commit, instead of one per
advert: at most 20 turns a second however busy the store). Its `at` is the callback's time, so
presence sees no delay; presence → offer on screen gains at most this (budget 300 ms; measured
p95 about 100 ms without it), below the 0.25 s presence tick. Messages (a withdrawal) do not wait:
they wake the writer at once. Each wake-up is two loop turns (the timer, then the writer). 20 ms
cost ~5 µs per advert at 800/s against 50 ms; 100 ms against 50 ms, the two gateways in the same
pairs and swapped (benchmarks/realtime_cost.py --tree/--against), saved 2-7 % at 200 adverts/s and
nothing measurable at 800 and 3,000/s (the size of the noise; docs/performance.md, fourth pass), so
the 50 ms of latency it would add to presence → offer on screen were not worth it."""


class Pipeline:
    def __init__(
        self, core: Core, outbox: Outbox, sinks: list[Sink] | None = None, state: StateStore | None = None
    ) -> None:
        self.core = core
        self.outbox = outbox
        self.state = state
        """The last good store (None: nothing is kept, e.g. a pipeline built by a test)."""
        self.sinks: list[Sink] = list(sinks or [])
        self._pending: list[Event] = []
        self._next_health: float | None = None
        self._health_due = float("-inf")
        self._rejected_health_at = float("-inf")
        """No health event for a rejected downlink before this (edge.constants.REJECTION_HEALTH_MIN_S)."""
        self._source: Source | None = None
        self.health_extra: list[Callable[[], dict[str, int]]] = []
        """More counters for ``edge.gateway.health`` (the services' reports), each called per health event."""
        self.at_health: list[Callable[[float], Awaitable[None]]] = []
        """Work done at each health event, before its counters are read (the learned radio kept:
        edge.radio_keeper)."""
        self.beats = 0
        """Turns of the real-time loop (at least one per tick, or per hand-over of items that ran
        the timers): the systemd watchdog pings only
        while this moves (edge.ops.service), so a wedged loop gets the service restarted."""
        self.turning = asyncio.Event()
        """Set at the real-time loop's first turn (readiness waits on it)."""
        self._inbox: collections.deque[_Message] = collections.deque()
        self._wake = asyncio.Event()
        self._waiter: asyncio.Future[None] | None = None
        """The real-time loop's sleep (None while it works): resolving it wakes the writer."""
        self._lingering: asyncio.TimerHandle | None = None
        self._tick_due = False
        self._ticker: asyncio.TimerHandle | None = None
        self._job: Callable[[], Awaitable[None]] | None = None
        self._serving = False
        self._saved_withdrawals = core.withdrawals_changed
        """The roster :meth:`withdrawn` last read, and the tokens it lists."""
        outbox.withdrawn = self.withdrawn  # asked under the outbox's lock, at each commit

    # --- the ports' side -------------------------------------------------------------------

    def subscribe(self, sink: Sink) -> Unsubscribe:
        self.sinks.append(sink)
        return lambda: self.sinks.remove(sink) if sink in self.sinks else None

    def report(self, health: Callable[[], dict[str, int]]) -> Unsubscribe:
        self.health_extra.append(health)
        return lambda: self.health_extra.remove(health) if health in self.health_extra else None

    def withdrawn(self, token: str) -> bool:
        """Whether ``token`` is withdrawn now: a withdrawal's tombstone, or not listed by the roster in force
        (a withdrawal takes the shopper out of it in the core's step, before the writer's purge commits; a
        newer roster omitting them does the same). The outbox asks under its lock at each commit, so an
        event about the shopper made before the withdrawal and handed to the writer but not committed by the
        purge -- a peers' gain applied on its own task, an impression -- is dropped, not written after the
        purge (docs/multi-gateway.md, "A withdrawal while a change is in flight"). No roster yet: only the
        tombstones."""
        core = self.core
        if token in core.withdrawals:
            return True
        roster = core.roster
        if roster is None:
            return False
        return token not in roster.tokens

    async def flush(self) -> None:
        """Commit the pending batch, then hand it to the sinks (an event about a token withdrawn meanwhile is
        neither committed nor handed on: :meth:`withdrawn`)."""
        if not self._pending:
            return
        batch = self._pending[:]
        self._pending.clear()
        await finish(self._commit(batch))  # taken out of _pending: a stop must not cut it before its commit

    async def _commit(self, batch: list[Event]) -> None:
        await self.outbox.append(batch)
        withdrawn = self.withdrawn
        for event in batch:
            if event.token is not None and withdrawn(event.token):
                continue
            for sink in self.sinks:
                sink(event)

    async def publish(self, events: list[Event]) -> None:
        """Events from another part of the gateway (impressions, verifications): committed, then sunk."""
        self._pending.extend(events)
        await self.flush()

    async def deliver(self, downlink: Downlink | ShelfReading | Sightings, max_bytes: int | None = None) -> Decision:
        """A downlink (or a shelf reading) for the core, applied by the writer; returns once its
        effects are committed. ``max_bytes``: the sender's size limit (the broker's)."""
        future: asyncio.Future[Decision] = asyncio.get_running_loop().create_future()
        if type(downlink) is Downlink and downlink.topic == self.core.topics.withdraw:
            self._inbox.appendleft((downlink, max_bytes, future))  # at once: before anything queued
        else:
            self._inbox.append((downlink, max_bytes, future))
        self._wake.set()
        self._wake_now()
        if not self._serving:
            await self._drain_inbox()  # no writer task (a pipeline without a gateway): this one
        return await future

    # --- the writer --------------------------------------------------------------------------

    async def restore(self, now: float) -> None:
        """The last good state into the core, in the router's fixed order, before any message."""
        if self.state is None:
            return
        stored = await self.state.load_all()
        for decision in self.core.restore(stored.payloads, stored.withdrawals, now):
            await self._settle(decision, now, keep=False)
        roster = self.core.roster
        if roster is not None and not roster.expired(now):
            # Rows of a token the roster in force does not list (a roster file newer than the last
            # good state that dropped the shopper while the box was off): purged as a withdrawal.
            gone = tuple(sorted(t for t in await self.outbox.tokens() if t not in roster.tokens))
            if gone:
                await self._settle(Decision("", purge=gone), now, keep=False)
        self._saved_withdrawals = self.core.withdrawals_changed
        await self.flush()

    async def serve(self) -> None:
        """The core's one writer, for the gateway's life: the inbox, and the source while
        :meth:`run` has handed it one."""
        self._serving = True
        try:
            while True:
                job, self._job = self._job, None
                if job is not None:
                    await job()
                    continue
                await self._wake.wait()
                self._wake.clear()
                await self._drain_inbox()
        finally:
            self._serving = False
            for _, _, future in self._inbox:
                future.cancel()
            self._inbox.clear()

    async def run(self, source: Source, *, fast: bool = False, stop: asyncio.Event | None = None) -> None:
        """Read ``source`` until it ends or ``stop`` is set, on the writer task (inline when there
        is none). Raises what the source raised."""
        stop = stop or asyncio.Event()
        if not self._serving:
            await (self.run_fast(source, stop) if fast else self.run_live(source, stop))
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def job() -> None:
            try:
                await (self.run_fast(source, stop) if fast else self.run_live(source, stop))
            except asyncio.CancelledError:
                done.cancel()
                raise
            except Exception as err:  # noqa: BLE001 - handed to the caller of run, raised there
                if not done.done():
                    done.set_exception(err)
            else:
                if not done.done():
                    done.set_result(None)

        self._job = job
        self._wake.set()
        try:
            await asyncio.shield(done)
        except asyncio.CancelledError:
            stop.set()  # the caller went away: the writer stops reading the source
            raise

    async def _drain_inbox(self) -> None:
        inbox = self._inbox
        while inbox:
            downlink, max_bytes, future = inbox.popleft()
            if future.done():
                continue
            try:
                decision = await self._apply(downlink, max_bytes)
            except Exception as err:
                if not future.done():
                    future.set_exception(err)
                raise
            if not future.done():  # its sender may have gone (cancelled) while it was applied
                future.set_result(decision)

    async def _apply(self, message: Downlink | ShelfReading | Sightings, max_bytes: int | None) -> Decision:
        now = message.at
        if type(message) is Sightings:  # a peer gateway's sightings (edge.peers)
            decision = Decision("", self.core.on_sightings(message))
            self._pending.extend(decision.events)
            await self.flush()
            return decision
        if type(message) is ShelfReading:
            decision = Decision("", self.core.on_shelf(message))
            self._pending.extend(decision.events)
            await self.flush()
            return decision
        assert type(message) is Downlink
        decision = self.core.decide(message, max_bytes)
        self._pending.extend(decision.events)
        await self._settle(decision, now, keep=True)
        if decision.rejected is not None and not now < self._rejected_health_at < now + c.REJECTION_HEALTH_MIN_S:
            # At most one health event per minute for rejections (a flood is counted, not echoed).
            self._rejected_health_at = now + c.REJECTION_HEALTH_MIN_S
            self._pending.append(self.core.health_event(now, await self._health_counters()))
        await self.flush()
        return decision

    async def _settle(self, decision: Decision, now: float, *, keep: bool) -> None:
        """Purge the withdrawn, keep the last good state: what the core decided, done."""
        core = self.core
        for token in decision.purge:
            before = len(self._pending)
            self._pending[:] = [e for e in self._pending if e.token != token]
            purged = before - len(self._pending) + await self.outbox.purge_token(token)
            self._pending.append(core.withdrawn_event(token, purged, now))
        if self.state is not None:
            if keep and decision.keep is not None:
                await self.state.save(decision.topic, decision.keep, now)
            if core.withdrawals_changed != self._saved_withdrawals:
                self._saved_withdrawals = core.withdrawals_changed
                await self.state.save_withdrawals(core.withdrawals, now)
        if decision.purge:
            await self.flush()

    async def _health_counters(self) -> dict[str, int]:
        outbox = self.outbox
        extra = {
            "outbox_depth": await outbox.depth() + len(self._pending),
            "outbox_dropped": outbox.dropped,
            "outbox_withdrawn_dropped": outbox.withdrawn_dropped,
        }
        for more in self.health_extra:
            extra.update(more())
        if self._source is not None:
            extra.update({f"source_{k}": v for k, v in asdict(self._source.counters).items()})
        return extra

    async def _health(self, now: float) -> None:
        interval = self.core.config.presence.health_interval_s
        if self._next_health is None:
            self._next_health = self._health_due = now + interval
            return
        if now < self._next_health:
            return
        self._next_health = self._health_due = now + interval
        for work in self.at_health:
            await work(now)
        self._pending.append(self.core.health_event(now, await self._health_counters()))

    async def _downlink_item(self, item: Downlink) -> None:
        decision = self.core.decide(item)
        if decision.events:
            self._pending.extend(decision.events)
        await self._settle(decision, item.at, keep=True)

    async def step(self, item: Item | None, now: float) -> None:
        """Advance the timers to ``now`` and take one item (None: timers only)."""
        core = self.core
        events = core.advance(now)
        if events:
            self._pending.extend(events)
        if item is not None:
            if type(item) is Downlink:
                await self._downlink_item(item)
            else:
                found = core.handle(item)
                if found:
                    self._pending.extend(found)
        await self._health(now)

    async def run_fast(self, source: Source, stop: asyncio.Event | None = None) -> None:
        """As fast as possible, on the items' own time (``edge replay``), until the source ends
        or ``stop`` is set (checked per item: a signal handler sets it while the loop is busy).

        A source that can be read synchronously (:meth:`~edge.beacons.source.Source.sync_items`
        not None: a replay at full speed) is, and the loop awaits only for I/O (a full batch, a
        downlink, a health event): the hot path is the pure core.
        """
        self._source = source
        stopped = (stop or asyncio.Event()).is_set
        items = source.sync_items()
        if items is None:
            async for item in source:
                await self.step(item, item.at)
                if self._inbox:
                    await self._drain_inbox()
                if len(self._pending) >= c.OUTBOX_BATCH_MAX:
                    await self.flush()
                if stopped():
                    break
            await self.flush()
            return
        core = self.core
        advance, handle = core.advance, core.handle
        pending = self._pending
        inbox = self._inbox
        batch_max = c.OUTBOX_BATCH_MAX
        for item in items:
            now = item.at
            events = advance(now)
            if events:
                pending.extend(events)
            if type(item) is Downlink:
                await self._downlink_item(item)
            else:
                found = handle(item)
                if found:
                    pending.extend(found)
            if now >= self._health_due:
                await self._health(now)
            if len(pending) >= batch_max:
                await self.flush()
            if inbox:
                await self._drain_inbox()
            if stopped():
                break
        await self.flush()

    # --- real time: one wake-up per burst --------------------------------------------------------

    def _wake_now(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _linger_over(self) -> None:
        self._lingering = None
        self._wake_now()

    def _nudge(self) -> None:
        """The feed's first item since the writer took the last batch: wake it within LINGER_S."""
        if self._waiter is not None and self._lingering is None:
            self._lingering = asyncio.get_running_loop().call_later(LINGER_S, self._linger_over)

    def _tick(self, loop: asyncio.AbstractEventLoop, tick_s: float, clock: Clock) -> asyncio.TimerHandle:
        """Every ``tick_s``: the timers are due (one handle re-armed per tick, not per advert),
        unless the items taken already ran them past now (a replay's, handed over early): then
        the writer is not woken for nothing."""

        def fire() -> None:
            self._ticker = self._tick(loop, tick_s, clock)
            if self.core.timers_due(clock.now()):
                self._tick_due = True
                self._wake_now()

        return loop.call_later(tick_s, fire)

    def _take(self, items: collections.deque[Item]) -> Downlink | None:
        """A turn's items into the core, in order, each after the timers up to its own time
        (synchronous: the core is pure), up to the first downlink (a trace's), which is returned:
        the router's effects are awaited (purge, last good state) before the next item."""
        core = self.core
        advance, handle = core.advance, core.handle
        pending = self._pending
        while items:
            item = items.popleft()
            events = advance(item.at)
            if events:
                pending.extend(events)
            if type(item) is Downlink:
                return item
            found = handle(item)
            if found:
                pending.extend(found)
        return None

    async def run_live(self, source: Source, stop: asyncio.Event) -> None:
        """In real time until ``stop`` is set or the source ends; timers tick even in silence."""
        self._source = source
        loop = asyncio.get_running_loop()
        clock = source.clock
        feed = Feed(
            nudge=self._nudge,
            wake=self._wake_now,
            counters=source.counters,
            limit=c.SCANNER_QUEUE_MAX,
            admit=self.core.admitter(),
        )
        pump = asyncio.create_task(source.pump(feed), name="edge-source")
        pump.add_done_callback(lambda _: self._wake_now())
        stopper = asyncio.create_task(stop.wait(), name="edge-stop")
        stopper.add_done_callback(lambda _: self._wake_now())
        self._ticker = self._tick(loop, self.core.config.presence.tick_interval_s, clock)
        try:
            while not stop.is_set():
                self.beats += 1
                self.turning.set()
                if self._inbox:
                    await self._drain_inbox()
                if len(feed):
                    items = feed.take()
                    while (downlink := self._take(items)) is not None:
                        await self._downlink_item(downlink)
                now = clock.now()
                if self._tick_due:
                    self._tick_due = False
                    events = self.core.advance(now)
                    if events:
                        self._pending.extend(events)
                if now >= self._health_due:
                    await self._health(now)
                if self._pending:
                    await self.flush()
                if len(feed) or self._inbox or self._tick_due:
                    continue  # more arrived while this turn awaited
                if pump.done():
                    break  # the source ended, and all it gave is in
                self._waiter = loop.create_future()
                try:
                    await self._waiter
                finally:
                    self._waiter = None
                    if self._lingering is not None:
                        self._lingering.cancel()
                        self._lingering = None
            await self.flush()
            if not stop.is_set():
                await pump  # the source ended: re-raise its failure, if any
        finally:
            if self._ticker is not None:
                self._ticker.cancel()
                self._ticker = None
            await cancel_and_wait(pump, stopper)
