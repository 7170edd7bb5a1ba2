"""This gateway's connection to the store broker (issue 18), and the state that follows from it: which
peers are online, and whether the gateway is settling, frozen or standalone.

Its own connection (``mqtt.url``; client id = the gateway id, so the ACL's ``%c`` pattern lets it
publish under its own level only; no persistent session; retained ``online`` birth, ``offline``
last will), reconnected with a jittered back-off. After each (re)connection nothing is evaluated for
:data:`~edge.peers.timing.SETTLE_S`: the peers' retained states and claims arrive first, so a
gateway that joins does not claim shoppers another one already owns. Cut off from the broker, the
gateway goes standalone: for :data:`~edge.peers.timing.STANDALONE_GRACE_S` ownership is frozen (a
broker restart does not make every gateway enter every shopper again), then it owns whatever it
hears (:class:`edge.peers.service.Peers` asks :meth:`StoreConnection.frozen`).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable

import paho.mqtt.client as paho

from edge.backoff import Backoff
from edge.clock import Clock
from edge.mqtt_link import Link, LinkError, LinkSettings
from edge.peers import messages
from edge.peers.timing import (
    RECONNECT_INITIAL_S,
    RECONNECT_MAX_S,
    SETTLE_S,
    STANDALONE_GRACE_S,
    SUMMARY_EXPIRY_S,
)
from edge.peers.topics import PeerTopics

log = logging.getLogger("edge.peers.service")

READ_AT_DEADLINE_MAX_PACKETS = 64
"""Packets :meth:`StoreConnection.read_waiting` reads at most at once: a stalled gateway of a store of 8 has, per
slot, 7 peers' summaries and their early parts and a few claims waiting (about 20 packets); 64 is three slots of
that, and stays well under the inbox's 1,024 (:data:`edge.peers.intake.INBOX_MAX_MESSAGES`)."""


class StoreConnection:
    """See the module docstring. ``on_message`` takes every message (acknowledged already), those the
    broker sends from its retained store on a (re)subscription (MQTT's retain flag) ``on_retained`` if
    given; ``on_connected`` runs once the link is up and subscribed (the service republishes its claims)."""

    def __init__(
        self,
        me: str,
        settings: LinkSettings,
        topics: PeerTopics,
        clock: Clock,
        stats: dict[str, int],
        on_message: Callable[[str, bytes], None],
        on_connected: Callable[[], None],
        peers: int,
        on_retained: Callable[[str, bytes], None] | None = None,
    ) -> None:
        self.me = me
        self.settings = settings
        self.topics = topics
        self.clock = clock
        self.stats = stats
        self.on_message = on_message
        self.on_retained = on_retained or on_message
        self.on_connected = on_connected
        self.peers = peers
        self.link: Link | None = None
        self.connected = asyncio.Event()
        self.alive: set[str] = set()
        """Peers whose retained state is ``online``."""
        self.cut_off_at: float | None = clock.now()
        """When the link last went down (None while it is up); at start: cut off since the start."""
        self.settle_until = 0.0

    def frozen(self, now: float) -> bool:
        """Whether ownership must not move now: settling after a (re)connection, or cut off for less
        than :data:`STANDALONE_GRACE_S` (nobody gains or loses anyone during a short outage)."""
        if self.connected.is_set():
            return now < self.settle_until
        cut = self.cut_off_at
        return cut is not None and now - cut < STANDALONE_GRACE_S

    async def run(self) -> None:
        backoff = Backoff(RECONNECT_INITIAL_S, RECONNECT_MAX_S, 0.2, random.Random())  # noqa: S311 - jitter
        while True:
            link = Link(self.settings, on_message=self._on_message, on_puback=lambda _mid, _ok: None)
            try:
                await link.connect(will_topic=self.topics.state(), will=messages.state_payload(self.me, "offline"))
            except LinkError as err:
                delay = backoff.next_delay()
                log.warning("peers: %s; standalone, retrying in %.1f s", err, delay)
                await asyncio.sleep(delay)
                continue
            backoff.reset()
            self.link = link
            self.stats["peers_connections"] += 1
            link.publish(self.topics.state(), messages.state_payload(self.me, "online"), retain=True)
            link.subscribe(self.topics.subscriptions())
            self.settle_until = self.clock.now() + SETTLE_S
            self.connected.set()
            self.cut_off_at = None
            self.on_connected()
            log.info("peers: on the store broker with %d peer(s) configured", self.peers)
            # Shielded: a stop cancels this wait, and cancelling the awaited future itself would mark
            # the link closed, so the clean stop (the service's) would skip clearing the claims (only the
            # will said offline; the claims stayed retained until they expired, beside the next owners').
            why = await asyncio.shield(link.closed)
            self.connected.clear()
            self.cut_off_at = self.clock.now()
            self.alive.clear()
            log.warning("peers: cut off from the store broker (%s): standalone", why)
            await asyncio.sleep(backoff.next_delay())

    def read_waiting(self) -> int:
        """Take now what already waits in the socket (at most :data:`READ_AT_DEADLINE_MAX_PACKETS` packets: each
        message goes to ``on_message`` as the reader callback would pass it); the packets read. For a slot about to
        be evaluated at its deadline without a peer's summary: a loop that stalled may hold it unread."""
        link = self.link
        if link is None or not self.connected.is_set():
            return 0
        return link.read_waiting(READ_AT_DEADLINE_MAX_PACKETS)

    def publish_summary(self, payload: bytes) -> bool:
        """Send this gateway's summary (not retained, expiring after :data:`SUMMARY_EXPIRY_S`); whether
        it went out (the link up and the publish queued)."""
        link = self.link
        if link is None or not self.connected.is_set():
            return False
        props = messages.expiring(SUMMARY_EXPIRY_S)
        info = link.client.publish(self.topics.sightings(), payload, qos=1, properties=props)
        return info.rc == paho.MQTT_ERR_SUCCESS

    async def close(self, release: Callable[[], None]) -> None:
        """A clean stop: ``release`` (the service clears its claims), then ``offline``, then the link
        closes (waiting, within its close bound, for the broker's acknowledgements)."""
        link = self.link
        if link is None:
            return
        if not link.closed.done():
            release()
            link.publish(self.topics.state(), messages.state_payload(self.me, "offline"), retain=True)
        await link.close()

    def _on_message(self, link: Link, message: paho.MQTTMessage) -> None:
        link.ack(message.mid, message.qos)
        (self.on_retained if message.retain else self.on_message)(message.topic, bytes(message.payload))
