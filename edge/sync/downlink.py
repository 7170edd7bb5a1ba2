"""Downlinks from the broker: queued in arrival order, delivered to the core's one writer, and
acknowledged only after their commit.

paho runs with manual acknowledgement: a QoS 1 message is PUBACKed after the pipeline applied it
through the core's router (:mod:`edge.router`) and committed what followed (the last good roster /
offers / rules / config, a withdrawal, the purge and its ``edge.consent.withdrawn``), so a crash
before that makes the broker deliver it again (persistent session). A consent withdrawal jumps the
queue here and in the pipeline's inbox: it takes effect at the writer's next turn. A bad message
(malformed, oversized, too deep, failing its schema, or one a handler raised on) is counted by the
router, acknowledged (so it is not redelivered for ever), and the last good state stays in force.
Payloads are never logged: they hold tokens.

Memory is bounded: the broker sends at most ``Receive Maximum`` unacknowledged QoS 1 messages
(:mod:`edge.mqtt_link`), and once :data:`~edge.constants.MQTT_INBOX_MAX_BYTES` or
:data:`~edge.constants.MQTT_INBOX_MAX_MESSAGES` wait here the link stops reading its socket until
half of it has been handled (back-pressure through TCP, never an unbounded queue).
"""

from __future__ import annotations

import asyncio
import collections
import logging
from dataclasses import dataclass

from edge import constants as c
from edge.inputs import Downlink
from edge.limits import too_deep
from edge.messages import note_checkin
from edge.mqtt_link import Link
from edge.ports import Ports
from edge.router import Decision

log = logging.getLogger(__name__)

CHECKIN_NOTE_MAX_BYTES = 4096
"""Check-ins larger than this are not scanned for unknown field names (the router rejects them anyway)."""


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

    def __init__(
        self,
        ports: Ports,
        *,
        max_bytes: int = c.MQTT_DOWNLINK_MAX_BYTES,
        inbox_max_bytes: int = c.MQTT_INBOX_MAX_BYTES,
        inbox_max_messages: int = c.MQTT_INBOX_MAX_MESSAGES,
    ) -> None:
        self.ports = ports
        self.topics = ports.topics
        self.max_bytes = max_bytes
        self.inbox_max_bytes = inbox_max_bytes
        self.inbox_max_messages = inbox_max_messages
        self.queue: asyncio.Queue[Incoming] = _Arrivals()
        self.queued_bytes = 0
        self.peak_bytes = 0
        self.applied = 0
        self.failed = 0
        """Downlinks whose delivery raised (acknowledged, counted; the task goes on)."""
        self.pauses = 0
        self._paused: Link | None = None

    def health(self) -> dict[str, int]:
        return {
            "mqtt_inbox_peak_bytes": self.peak_bytes,
            "mqtt_inbox_pauses": self.pauses,
            "mqtt_downlinks_failed": self.failed,
        }

    def on_message(self, link: Link | None, topic: str, payload: bytes, mid: int, qos: int) -> None:
        """On the loop, synchronous (paho's callback): queue it; past the bound, pause the link."""
        self.queue.put_nowait(Incoming(link, topic, payload, mid, qos, urgent=topic == self.topics.withdraw))
        self.queued_bytes += len(payload)
        self.peak_bytes = max(self.peak_bytes, self.queued_bytes)
        if link is not None and self._paused is None and self._over():
            link.pause()
            self._paused = link
            self.pauses += 1

    def _over(self) -> bool:
        return self.queued_bytes >= self.inbox_max_bytes or self.queue.qsize() >= self.inbox_max_messages

    def _taken(self, item: Incoming) -> None:
        self.queued_bytes -= len(item.payload)
        paused = self._paused
        if paused is not None and (
            self.queued_bytes <= self.inbox_max_bytes // 2 and self.queue.qsize() <= self.inbox_max_messages // 2
        ):
            self._paused = None
            paused.resume()

    async def run(self) -> None:
        """Apply queued downlinks in arrival order, acknowledging each after its commit. A delivery
        that raises is counted and acknowledged; this task does not die of a message."""
        while True:
            item = await self.queue.get()
            self._taken(item)
            try:
                await self.apply(item)
            except Exception as err:
                if not self.ports.outbox.is_open:
                    raise  # the gateway is stopping: not the message's fault
                self.failed += 1
                if self.failed == 1 or self.failed % 1000 == 0:
                    log.error(
                        "MQTT: delivering a downlink on %s failed: %s (%d so far)",
                        item.topic,
                        type(err).__name__,
                        self.failed,
                    )
            if item.link is not None:
                item.link.ack(item.mid, item.qos)

    async def apply(self, item: Incoming) -> Decision:
        """Deliver one downlink to the core's writer and wait for its commit."""
        if (
            item.topic == self.topics.checkin
            and len(item.payload) <= CHECKIN_NOTE_MAX_BYTES
            and not too_deep(item.payload)
        ):
            note_checkin(item.payload)
        downlink = Downlink(self.ports.clock.now(), item.topic, item.payload)
        decision = await self.ports.deliver(downlink, self.max_bytes)
        if decision.rejected is None:
            self.applied += 1
        return decision
