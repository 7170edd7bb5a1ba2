"""The replay downlink: ``cdp/v1/{store}/{gateway}/replay`` ``{"from_sequence", "to_sequence"?}``.

A CDP that sees a gap in a gateway's ``sequence`` asks again: the kept rows (sent rows are kept,
:data:`~edge.constants.OUTBOX_KEEP_SENT_ROWS` of them, besides the unsent ones) numbered in the
range are republished on their event topics with their original ``id``, body and ``sequence``, in
order, at most :data:`~edge.constants.REPLAY_ROWS_MAX` per request, through the same in-flight
window as the drain. The request is validated by the router like any downlink (a bad one is
rejected and counted); requests that arrive while one is pending are merged into it (one pending
range at most: a flood of requests costs one pass). Rows never numbered (not yet sent) are left
to the drain; a purged row (a withdrawal) is gone for good.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from edge import constants as c
from edge.events import Event
from edge.messages import Replay
from edge.mqtt_link import Link
from edge.outbox import Outbox
from edge.outbox_policy import with_sequence
from edge.sync.topics import Topics
from edge.unknown import decode_noting

log = logging.getLogger(__name__)

REPLAY_MAX_BYTES = 1024
"""A replay request is two numbers: anything near this size is not one."""


def _either(*futures: asyncio.Future[Any]) -> set[asyncio.Future[Any]]:
    return set(futures)


def replay_topic(topics: Topics) -> str:
    """``cdp/v1/{store}/{gateway}/replay``."""
    return f"{topics.down}/{topics.gateway}/replay"


def decode_replay(payload: bytes) -> Replay:
    """A replay request; raises msgspec's errors, or ValueError for an empty range."""
    request: Replay = decode_noting("replay", payload, Replay)
    if request.to_sequence is not None and request.to_sequence < request.from_sequence:
        raise ValueError("to_sequence is below from_sequence")
    return request


class Replayer:
    """Pending replay ranges and their republishing; see the module docstring."""

    def __init__(self, outbox: Outbox, topics: Topics, *, max_rows: int = c.REPLAY_ROWS_MAX) -> None:
        self.outbox = outbox
        self.topics = topics
        self.max_rows = max_rows
        self.pending: tuple[int, int | None] | None = None
        self.wake = asyncio.Event()
        self.requests = 0
        self.republished = 0
        self._inflight: set[int] = set()
        self._space = asyncio.Event()

    def health(self) -> dict[str, int]:
        return {"replay_requests": self.requests, "replay_republished": self.republished}

    def apply(self, request: Replay, now: float) -> list[Event]:
        """The route's apply (on the core's writer): remember the range, merged with a pending one."""
        self.requests += 1
        low, high = request.from_sequence, request.to_sequence
        if self.pending is not None:
            old_low, old_high = self.pending
            low = min(low, old_low)
            high = None if high is None or old_high is None else max(high, old_high)
        self.pending = (low, high)
        self.wake.set()
        return []

    def on_puback(self, mid: int) -> bool:
        """True if ``mid`` was a replayed row's."""
        if mid in self._inflight:
            self._inflight.discard(mid)
            self._space.set()
            return True
        return False

    async def rows(self, low: int, high: int | None) -> list[tuple[str, int, bytes]]:
        """(type, sequence, body with its sequence) of the kept rows numbered ``low..high``, in order."""
        top = high if high is not None else 2**63 - 1
        async with (
            self.outbox.lock,
            self.outbox.db.execute(
                "SELECT type, sequence, body FROM outbox WHERE sequence BETWEEN ? AND ? ORDER BY seq LIMIT ?",
                (low, top, self.max_rows),
            ) as cursor,
        ):
            found = await cursor.fetchall()
        return [(str(t), int(s), with_sequence(bytes(b), int(s))) for t, s, b in found]

    async def run(self, link: Link, window: int) -> None:
        """Republish pending ranges over ``link`` until it closes; an unfinished range stays pending."""
        self._inflight.clear()
        closed = link.closed
        while not closed.done():
            if self.pending is None:
                self.wake.clear()
                waiter = asyncio.ensure_future(self.wake.wait())
                try:
                    await asyncio.wait(_either(waiter, closed), return_when=asyncio.FIRST_COMPLETED)
                finally:
                    waiter.cancel()  # not awaited: a cancellation of this task arriving then must not be swallowed
                continue
            low, high = self.pending
            self.pending = None
            rows = await self.rows(low, high)
            for index, (type_, sequence, body) in enumerate(rows):
                while len(self._inflight) >= window and not closed.done():
                    self._space.clear()
                    waiter = asyncio.ensure_future(self._space.wait())
                    try:
                        await asyncio.wait(_either(waiter, closed), timeout=c.MQTT_CLOSE_TIMEOUT_S)
                    finally:
                        waiter.cancel()
                mid = None if closed.done() else link.publish(self.topics.event(type_), body)
                if mid is None:  # the link went: the rest again on the next connection
                    rest = (sequence, high)
                    self.pending = rest if self.pending is None else (min(sequence, self.pending[0]), None)
                    del rows[index:]
                    break
                self._inflight.add(mid)
                self.republished += 1
            if rows:
                log.info("replayed %d kept rows from sequence %d on request", len(rows), low)
