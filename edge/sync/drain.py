"""The outbox drain: committed rows → QoS 1 publishes, marked sent only after their PUBACK.

Rows leave in outbox order over one connection (so per shopper too), at most ``window`` awaiting
a PUBACK. Each row gets its ``sequence`` when first claimed and keeps it, and its id, on every
retry. PUBACKs are committed in batches (one fsync per :data:`MQTT_ACK_COMMIT_S`). After a lost
connection nothing is left to paho: the next connection starts again from the first unsent row,
so a row whose PUBACK was lost goes out again with the same id (at least once).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from typing import Any

from edge import constants as c
from edge.histogram import Histogram
from edge.mqtt_link import Link
from edge.outbox import Outbox, Row
from edge.sync.topics import Topics
from edge.tasks import cancel_and_wait

log = logging.getLogger(__name__)

CLAIM_AHEAD = 2
"""Rows claimed ahead of the window, as a multiple of it, so publishing never waits on SQLite."""


class Drain:
    def __init__(self, outbox: Outbox, topics: Topics, *, ack_commit_s: float = c.MQTT_ACK_COMMIT_S) -> None:
        self.outbox = outbox
        self.topics = topics
        self.ack_commit_s = ack_commit_s
        self.wake = asyncio.Event()
        """Set when new rows were committed (a pipeline sink)."""
        self.published = 0
        self.acked = 0
        self.refused = 0
        self._inflight: dict[int, tuple[int, float]] = {}
        """mid → (row, monotonic time it was handed to paho)."""
        self.latency = Histogram(c.PUBLISH_LATENCY_BUCKETS_S)
        """Publish → PUBACK, per event (the metrics endpoint's ``edge_publish_latency_seconds``)."""
        self._acks: list[int] = []
        self._ready: collections.deque[Row] = collections.deque()
        self._cursor = 0
        self._purges = 0
        self._space = asyncio.Event()
        self._topics: dict[str, str] = {}
        """Event type → topic, built once each: the publish loop runs per row."""

    @property
    def inflight(self) -> int:
        return len(self._inflight)

    def on_puback(self, mid: int, accepted: bool = True) -> None:
        """A PUBACK; a refused one (MQTT 5 reason >= 0x80, e.g. not authorised) leaves its row
        unsent, to go again on the next connection."""
        entry = self._inflight.pop(mid, None)
        if entry is None:
            return
        seq, sent_at = entry
        if accepted:
            self.latency.observe(time.monotonic() - sent_at)
            self._acks.append(seq)
            self.acked += 1
        else:
            self.refused += 1
            if self.refused == 1 or self.refused % 1000 == 0:
                log.error("the broker refused %d events so far: check its ACL for this gateway", self.refused)
        self._space.set()

    def notify(self, _event: object = None) -> None:
        self.wake.set()

    async def commit_acks(self) -> None:
        """Mark the PUBACKed rows sent. A commit interrupted (the gateway stopping while it runs)
        keeps its rows for the next one — the shutdown's last — rather than dropping them: marking
        is idempotent, and a row left unmarked would go out again after the restart."""
        if self._acks:
            acks, self._acks = self._acks, []
            try:
                await self.outbox.mark_sent(acks)
            except BaseException:
                self._acks[:0] = acks
                raise

    def _drop_purged(self) -> None:
        if self.outbox.purges != self._purges:
            gone = self.outbox.purged_since(self._purges)
            self._purges = self.outbox.purges
            self._ready = collections.deque(r for r in self._ready if r.token not in gone)

    async def run(self, link: Link, window: int) -> None:
        """Drain over ``link`` until it closes."""
        self._inflight.clear()
        self._ready.clear()
        self._cursor = 0
        self._purges = self.outbox.purges
        await self.commit_acks()
        last_commit = time.monotonic()
        closed = link.closed
        while not closed.done():
            self._drop_purged()
            if len(self._ready) < window:
                self.wake.clear()  # before the claim: a commit during it sets it again
                rows = await self.outbox.claim(self._cursor, window * CLAIM_AHEAD - len(self._ready))
                if rows:
                    self._cursor = rows[-1].seq
                    self._ready.extend(rows)
                    self._drop_purged()
            inflight, ready, publish, topics = self._inflight, self._ready, link.publish, self._topics
            sent_at = time.monotonic()
            while ready and len(inflight) < window:
                row = ready[0]
                topic = topics.get(row.type)
                if topic is None:
                    topic = topics[row.type] = self.topics.event(row.type)
                mid = publish(topic, row.body)
                if mid is None:
                    break
                ready.popleft()
                inflight[mid] = (row.seq, sent_at)
                self.published += 1
            now = time.monotonic()
            if self._acks and (now - last_commit >= self.ack_commit_s or not inflight):
                await self.commit_acks()
                last_commit = now
            if closed.done():
                break
            if ready and len(inflight) >= window:
                self._space.clear()
                await self._wait((self._space,), closed, self.ack_commit_s)
            elif not ready:
                self._space.clear()
                await self._wait((self.wake, self._space), closed, self.ack_commit_s if self._acks else 1.0)

    @staticmethod
    async def _wait(events: tuple[asyncio.Event, ...], closed: asyncio.Future[str], within_s: float) -> None:
        if any(e.is_set() for e in events):
            return
        waiters = [asyncio.ensure_future(e.wait()) for e in events]
        try:
            pending: set[asyncio.Future[Any]] = {*waiters, closed}
            await asyncio.wait(pending, timeout=within_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            await cancel_and_wait(*waiters)

    async def settle(self, within_s: float) -> None:
        """Wait (bounded) for the in-flight PUBACKs, then commit them: a clean shutdown."""
        deadline = time.monotonic() + within_s
        while self._inflight and time.monotonic() < deadline:
            self._space.clear()
            waiter = asyncio.ensure_future(self._space.wait())
            await asyncio.wait({waiter}, timeout=max(0.0, deadline - time.monotonic()))
            await cancel_and_wait(waiter)
        await self.commit_acks()
