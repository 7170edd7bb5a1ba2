"""Downlinks from the broker: queued in arrival order, delivered to the core's one writer, and
acknowledged only after their commit.

paho runs with manual acknowledgement: a QoS 1 message is PUBACKed after the pipeline applied it
through the core's router (:mod:`edge.router`) and committed what followed (the last good roster /
offers / rules / config, a withdrawal, the purge and its ``edge.consent.withdrawn``), so a crash
before that makes the broker deliver it again (persistent session). A consent withdrawal jumps the
queue here and in the pipeline's inbox: it takes effect at the writer's next turn. A bad message
(malformed, oversized, failing its schema) is counted, answered with an ``edge.gateway.health``
event, acknowledged (so it is not redelivered for ever), and the last good state stays in force.
Payloads are never logged: they hold tokens.
"""

from __future__ import annotations

import asyncio
import collections
from dataclasses import dataclass

from edge import constants as c
from edge.inputs import Downlink
from edge.messages import note_checkin
from edge.ports import Ports
from edge.router import Decision
from edge.sync.client import Link


@dataclass(frozen=True, slots=True)
class Incoming:
    link: Link | None
    topic: str
    payload: bytes
    mid: int
    qos: int
    urgent: bool = False
    """A consent withdrawal: ahead of everything queued."""


class _Arrivals(asyncio.Queue[Incoming]):
    """Arrival order, except that an urgent message goes first (asyncio.Queue's own hooks)."""

    def _init(self, maxsize: int) -> None:
        self._queue: collections.deque[Incoming] = collections.deque()

    def _put(self, item: Incoming) -> None:
        if item.urgent:
            self._queue.appendleft(item)
        else:
            self._queue.append(item)

    def _get(self) -> Incoming:
        return self._queue.popleft()


class Downlinks:
    """The broker side of the downlinks; see the module docstring."""

    def __init__(self, ports: Ports, *, max_bytes: int = c.MQTT_DOWNLINK_MAX_BYTES) -> None:
        self.ports = ports
        self.topics = ports.topics
        self.max_bytes = max_bytes
        self.queue: asyncio.Queue[Incoming] = _Arrivals()
        self.applied = 0

    def on_message(self, link: Link | None, topic: str, payload: bytes, mid: int, qos: int) -> None:
        """On the loop, synchronous (paho's callback): queue it."""
        self.queue.put_nowait(Incoming(link, topic, payload, mid, qos, urgent=topic == self.topics.withdraw))

    async def run(self) -> None:
        """Apply queued downlinks in arrival order, acknowledging each after its commit."""
        while True:
            item = await self.queue.get()
            await self.apply(item)
            if item.link is not None:
                item.link.ack(item.mid, item.qos)

    async def apply(self, item: Incoming) -> Decision:
        """Deliver one downlink to the core's writer and wait for its commit."""
        if item.topic == self.topics.checkin:
            note_checkin(item.payload)
        downlink = Downlink(self.ports.clock.now(), item.topic, item.payload)
        decision = await self.ports.deliver(downlink, self.max_bytes)
        if decision.rejected is None:
            self.applied += 1
        return decision
