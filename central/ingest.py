"""The bridge (option b): the fleet's MQTT 5 brokers → JetStream, at least once, de-duplicated.

Every ingest process subscribes to ``edge/v1/+/+/events/#`` in its own persistent session (not a
shared subscription: mosquitto does not persist a ``$share`` subscription, so after a broker restart
the group is gone until a bridge subscribes again, and the events published meanwhile are PUBACKed
and dropped; a plain one comes back with the session). So each process forwards every event: the
first copy is stored, JetStream drops the others by ``Nats-Msg-Id`` (counted as duplicates), and
one process alive keeps the stream current while another is down. Each message is published to
``edge.v1.{store}.{gateway}.{type}`` with ``Nats-Msg-Id`` = its CloudEvents id, and its MQTT PUBACK
is sent (manual ack) only after JetStream acknowledged it, so a bridge killed at any point leaves the
message un-acknowledged in its persistent session: the broker sends it again and JetStream drops
the copy. A failed JetStream publish (a node down, a leader election) is retried with the same id
until it succeeds. The bridge holds at most ``inflight_max`` messages (:data:`INGEST_INFLIGHT_MAX`):
it sends that as the MQTT 5 Receive Maximum on CONNECT, so a burst waits in the broker, and stops
reading its socket should a broker overrun it. A message that is not an event (bad topic, not JSON,
no id) is acknowledged and counted, never forwarded: it would block the session forever.

Once subscribed, the bridge says so: ``online`` retained on ``central/v1/ingest/{name}/status``
(``offline`` on a clean stop, and as its will, which mosquitto also sends when it stops). Until a
bridge has subscribed once, the broker has no session to queue the fleet's events in and drops them
after their PUBACK (MQTT: a message no subscription matches goes nowhere): start the bridges, and
wait for ``online``, before the gateways (docs/central.md, "Events that no subscription held").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import resource
import time
from dataclasses import dataclass, field
from typing import Any

import msgspec
import nats.errors
import nats.js.errors
import paho.mqtt.client as paho
from nats.js import JetStreamContext
from prometheus_client import CollectorRegistry, Counter

from central import constants as c
from central.errors import CentralError
from central.mqtt_link import link_settings
from central.nats_link import connect
from central.stream import StreamLimits, ensure
from central.subjects import event_subject
from edge.mqtt_link import Link, LinkError
from edge.sync.policy import Backoff

log = logging.getLogger(__name__)


class _Head(msgspec.Struct):
    id: str


_head = msgspec.json.Decoder(_Head)


@dataclass
class IngestStats:
    forwarded: int = 0
    duplicates: int = 0
    rejected: int = 0
    retries: int = 0
    connections: int = 0
    resumed: int = 0
    """Connections on which the broker still held this bridge's session (CONNACK's session present)."""
    inflight_peak: int = 0
    """The most MQTT messages held unacknowledged at once (bounded by the Receive Maximum sent on CONNECT)."""
    started: float = field(default_factory=time.monotonic)

    def as_dict(self) -> dict[str, float]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "forwarded": self.forwarded,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "retries": self.retries,
            "mqtt_connections": self.connections,
            "sessions_resumed": self.resumed,
            "inflight_peak": self.inflight_peak,
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
            "wall_s": round(time.monotonic() - self.started, 3),
        }


class Ingest:
    """One ingest process; ``run(stop)`` until ``stop`` is set."""

    def __init__(
        self,
        mqtt_url: str,
        nats_urls: list[str],
        *,
        name: str = "1",
        limits: StreamLimits | None = None,
        registry: CollectorRegistry | None = None,
        inflight_max: int = c.INGEST_INFLIGHT_MAX,
        session_expiry_s: int = c.INGEST_SESSION_EXPIRY_S,
    ) -> None:
        self.settings = link_settings(
            mqtt_url, f"cdp-ingest-{name}", receive_max=inflight_max, session_expiry_s=session_expiry_s
        )
        self.status_topic = c.INGEST_STATUS_TOPIC.format(name=name)
        """Retained ``online`` once this bridge's subscription is in place, ``offline`` when it is not."""
        self.nats_urls = nats_urls
        self.name = name
        self.limits = limits
        self.stats = IngestStats()
        self.registry = registry or CollectorRegistry()
        self._forwarded = Counter("central_ingest_forwarded", "events stored in JetStream", registry=self.registry)
        self._duplicates = Counter(
            "central_ingest_duplicates", "events JetStream dropped as duplicates (Nats-Msg-Id)", registry=self.registry
        )
        self._rejected = Counter("central_ingest_rejected", "MQTT messages that are not events", registry=self.registry)
        self._tasks: set[asyncio.Task[None]] = set()
        self._held = 0
        self.inflight_max = inflight_max
        self._link: Link | None = None
        """MQTT messages taken and not yet acknowledged (the broker's in-flight count for this client)."""
        self._rng = random.Random()  # noqa: S311 - jitter, not a secret
        self._js: JetStreamContext | None = None

    @property
    def inflight(self) -> int:
        """MQTT messages held now, each awaiting its JetStream ack (≤ the Receive Maximum)."""
        return self._held

    async def run(self, stop: asyncio.Event) -> None:
        nc = await connect(self.nats_urls, f"cdp-ingest-{self.name}")
        try:
            self._js = nc.jetstream()
            await ensure(self._js, self.limits)
            await self._mqtt_loop(stop)
            if self._tasks:  # a clean stop: let the in-flight publishes finish (bounded)
                await asyncio.wait(set(self._tasks), timeout=c.JS_PUBLISH_TIMEOUT_S * 2)
        finally:
            for task in self._tasks:
                task.cancel()
            with contextlib.suppress(Exception):
                await nc.close()

    async def _mqtt_loop(self, stop: asyncio.Event) -> None:
        backoff = Backoff(0.2, 5.0, 0.5, self._rng)
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                link = Link(self.settings, on_message=self._on_message, on_puback=lambda mid, ok: None)
                try:
                    present, _window = await link.connect(will_topic=self.status_topic, will=c.INGEST_OFFLINE)
                except LinkError as err:
                    delay = backoff.next_delay()
                    log.warning("ingest %s: MQTT %s; retrying in %.1f s", self.name, err, delay)
                    await asyncio.wait({stopping}, timeout=delay)
                    continue
                backoff.reset()
                self._link = link
                if present:
                    self.stats.resumed += 1
                else:
                    # A bridge's first connection ever, or its session is gone: expired (away longer than
                    # --session-expiry, or the broker's cap) or a broker without persistence restarted. The
                    # events published meanwhile reached JetStream only through another bridge's session.
                    log.log(
                        logging.WARNING if self.stats.connections else logging.INFO,
                        "ingest %s: the broker held no session for %s (new, expired or lost): subscribing afresh",
                        self.name,
                        self.settings.client_id,
                    )
                self.stats.connections += 1
                link.subscribe((c.INGEST_FILTER,))
                # After the SUBSCRIBE on the same connection: the broker handles a client's packets in
                # order, so whoever reads this retained ``online`` knows the subscription is in place.
                link.publish(self.status_topic, c.INGEST_ONLINE, retain=True)
                waits: set[asyncio.Future[Any]] = {stopping, link.closed}
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                if stop.is_set():
                    # Publishes in flight are acknowledged on this link before it closes.
                    if self._tasks:
                        await asyncio.wait(set(self._tasks), timeout=c.JS_PUBLISH_TIMEOUT_S * 2)
                    link.publish(self.status_topic, c.INGEST_OFFLINE, retain=True)  # close() awaits its PUBACK
                    await link.close()
                    break
                delay = backoff.next_delay()
                log.warning(
                    "ingest %s: MQTT connection lost (%s); reconnecting in %.1f s",
                    self.name,
                    link.closed.result(),
                    delay,
                )
                await asyncio.wait({stopping}, timeout=delay)
        finally:
            stopping.cancel()

    def _on_message(self, link: Link, message: paho.MQTTMessage) -> None:
        payload = bytes(message.payload)
        try:
            subject, _store, _gateway = event_subject(message.topic)
            msg_id = _head.decode(payload).id
        except (CentralError, msgspec.DecodeError, msgspec.ValidationError) as err:
            self.stats.rejected += 1
            self._rejected.inc()
            if self.stats.rejected == 1 or self.stats.rejected % 1000 == 0:
                log.error("ingest %s: %d messages rejected so far (last: %s)", self.name, self.stats.rejected, err)
            link.ack(message.mid, message.qos)
            return
        task = asyncio.get_running_loop().create_task(
            self._forward(link, subject, payload, msg_id, message.mid, message.qos)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self._held += 1
        self.stats.inflight_peak = max(self.stats.inflight_peak, self._held)
        if self._held > self.inflight_max:
            # The broker overran the Receive Maximum (mosquitto 2.0.11 can, after PUBACKs; see
            # docs/central.md): stop reading the socket until the bridge is back under its bound.
            link.pause()

    async def _forward(self, link: Link, subject: str, payload: bytes, msg_id: str, mid: int, qos: int) -> None:
        js = self._js
        assert js is not None
        delay = c.JS_RETRY_INITIAL_S
        while True:
            try:
                ack = await js.publish(
                    subject, payload, timeout=c.JS_PUBLISH_TIMEOUT_S, headers={"Nats-Msg-Id": msg_id}
                )
                break
            except (nats.errors.Error, nats.js.errors.Error, TimeoutError) as err:
                self.stats.retries += 1
                if self.stats.retries == 1 or self.stats.retries % 100 == 0:
                    log.warning(
                        "ingest %s: JetStream publish failed (%s); %d retries so far",
                        self.name,
                        err or type(err).__name__,
                        self.stats.retries,
                    )
                await asyncio.sleep(delay)
                delay = min(c.JS_RETRY_MAX_S, delay * 2)
        if ack.duplicate:
            self.stats.duplicates += 1
            self._duplicates.inc()
        else:
            self.stats.forwarded += 1
            self._forwarded.inc()
        self._held -= 1  # before the PUBACK: only then may the broker send the next
        link.ack(mid, qos)
        current = self._link
        if current is not None and current.paused and self._held <= self.inflight_max:
            current.resume()
