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
until it succeeds. The messages taken within :data:`INGEST_PUBLISH_LINGER_S` are published together
(``publish_async``: one shared ack subscription, one socket write for the lot), each acknowledged on
MQTT as its own JetStream ack arrives. The bridge holds at most ``inflight_max`` messages
(:data:`INGEST_INFLIGHT_MAX`): it sends that as the MQTT 5 Receive Maximum on CONNECT, so a burst
waits in the broker, and stops reading its socket should a broker overrun it. A message that is not
an event (bad topic, not JSON, no id) is acknowledged and counted, never forwarded: it would block the
session forever.

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
from collections.abc import Coroutine
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import msgspec
import nats.errors
import nats.js.errors
import paho.mqtt.client as paho
from nats.js import JetStreamContext
from nats.js.api import PubAck
from prometheus_client import CollectorRegistry, Counter

from central import constants as c
from central.errors import CentralError
from central.mqtt_link import link_settings
from central.nats_link import connect
from central.stream import StreamLimits, ensure
from central.subjects import event_subject
from edge.limits import JSON_DEPTH_MAX, too_deep
from edge.mqtt_link import Link, LinkError
from edge.sync.policy import Backoff

log = logging.getLogger(__name__)


class _Head(msgspec.Struct):
    id: str


_head = msgspec.json.Decoder(_Head)


def _subject_and_id(topic: str, payload: bytes) -> tuple[str, str]:
    """The JetStream subject of an event topic and the event's id (its ``Nats-Msg-Id``); CentralError or
    msgspec's decode errors for a message that is not an event."""
    subject, _store, _gateway = event_subject(topic)
    if too_deep(payload):  # msgspec recurses even to skip a field: RecursionError, not a DecodeError
        raise CentralError(f"{topic}: nests deeper than {JSON_DEPTH_MAX} levels")
    return subject, _head.decode(payload).id


@dataclass(slots=True)
class _Held:
    """One MQTT message taken, not yet acknowledged: what its JetStream publish and its PUBACK need."""

    link: Link
    subject: str
    payload: bytes
    msg_id: str
    mid: int
    qos: int


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
        self._batch: list[_Held] = []
        """Messages taken since the last publish (at most :data:`INGEST_PUBLISH_LINGER_S` ago)."""
        self._flush: asyncio.TimerHandle | None = None
        self._stopping = False
        self._pending_max = max(c.INGEST_PUBLISH_PENDING_MAX, 2 * inflight_max)
        self._awaiting: set[asyncio.Future[PubAck]] = set()
        """This bridge's JetStream publishes awaiting their ack."""

    @property
    def inflight(self) -> int:
        """MQTT messages held now, each awaiting its JetStream ack (≤ the Receive Maximum)."""
        return self._held

    async def run(self, stop: asyncio.Event) -> None:
        nc = await connect(self.nats_urls, f"cdp-ingest-{self.name}")
        try:
            self._js = nc.jetstream(publish_async_max_pending=self._pending_max)
            await ensure(self._js, self.limits)
            await self._mqtt_loop(stop)
            await self._finish()  # a clean stop: let the in-flight publishes finish (bounded)
        finally:
            if self._flush is not None:
                self._flush.cancel()
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
                    # Take no more (what the broker has not sent waits in the session), and let the
                    # messages held be published and acknowledged on this link before it closes.
                    self._stopping = True
                    link.pause()
                    await self._finish()
                    link.resume()  # close() reads the PUBACK of the offline status
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
            subject, msg_id = _subject_and_id(message.topic, payload)
        except (CentralError, msgspec.DecodeError, msgspec.ValidationError) as err:
            self.stats.rejected += 1
            self._rejected.inc()
            if self.stats.rejected == 1 or self.stats.rejected % 1000 == 0:
                log.error("ingest %s: %d messages rejected so far (last: %s)", self.name, self.stats.rejected, err)
            link.ack(message.mid, message.qos)
            return
        self._batch.append(_Held(link, subject, payload, msg_id, message.mid, message.qos))
        if self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(c.INGEST_PUBLISH_LINGER_S, self._publish_batch)
        self._held += 1
        self.stats.inflight_peak = max(self.stats.inflight_peak, self._held)
        if self._held > self.inflight_max:
            # The broker overran the Receive Maximum (mosquitto 2.0.11 can, after PUBACKs; see
            # docs/central.md): stop reading the socket until the bridge is back under its bound.
            link.pause()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _publish_batch(self) -> None:
        self._flush = None
        batch, self._batch = self._batch, []
        if batch:
            self._spawn(self._publish(batch))

    async def _finish(self) -> None:
        """A clean stop: publish what was gathered and wait for the in-flight publishes (and their retries),
        at most twice a publish's timeout."""
        if self._flush is not None:
            self._flush.cancel()
            self._publish_batch()
        deadline = time.monotonic() + c.JS_PUBLISH_TIMEOUT_S * 2
        while self._tasks and (left := deadline - time.monotonic()) > 0:
            await asyncio.wait(set(self._tasks), timeout=left)

    async def _publish(self, batch: list[_Held]) -> None:
        """Publish a batch (nats-py writes it at once), then wait for the acks: each acknowledges its MQTT
        message as it arrives (:meth:`_answered`); what has no ack within the timeout is retried alone."""
        sent: list[asyncio.Future[PubAck]] = []
        for held in batch:
            future = await self._send(held)
            if future is None:
                self._spawn(self._retry(held))
                continue
            future.add_done_callback(partial(self._answered, held))
            sent.append(future)
        if sent:
            _done, late = await asyncio.wait(sent, timeout=c.JS_PUBLISH_TIMEOUT_S)
            for future in late:
                future.cancel()  # nats-py forgets it (and frees its pending slot); _answered retries it

    async def _send(self, held: _Held) -> asyncio.Future[PubAck] | None:
        """One JetStream publish with ``Nats-Msg-Id``; its ack's future, or None if it could not be sent."""
        js = self._js
        assert js is not None
        if js.publish_async_pending() >= self._pending_max:
            # Never expected (each held message has at most one publish out); checked here because with
            # ``wait_stall`` nats-py would wait in a task of its own per publish, which costs a loop turn
            # each: the batch would go out one message per socket write again.
            self._failed(nats.js.errors.TooManyStalledMsgsError())
            return None
        try:
            future = await js.publish_async(held.subject, held.payload, headers={"Nats-Msg-Id": held.msg_id})
        except (nats.errors.Error, TimeoutError) as err:
            self._failed(err)
            self._forget_unsent(js)
            return None
        self._awaiting.add(future)
        future.add_done_callback(self._awaiting.discard)
        return future

    def _forget_unsent(self, js: JetStreamContext) -> None:
        """nats-py 2.16's ``publish_async`` registers its future before writing, and leaves it (and its pending
        slot) behind when the write raises (connection closed or draining, reconnect buffer full, payload too
        big): cancel every future that no publish of ours awaits, so failures cannot use up the slots. One of
        another publish still being written is cancelled too: that publish is retried."""
        registered: dict[str, asyncio.Future[Any]] = getattr(js, "_publish_async_futures", {})
        for future in list(registered.values()):
            if future not in self._awaiting and not future.done():
                future.cancel()

    def _answered(self, held: _Held, future: asyncio.Future[PubAck]) -> None:
        if future.cancelled():
            self._failed(TimeoutError())
        elif (err := future.exception()) is not None:
            self._failed(err)
        else:
            self._acked(held, future.result())
            return
        self._spawn(self._retry(held))

    def _failed(self, err: BaseException) -> None:
        self.stats.retries += 1
        if self.stats.retries == 1 or self.stats.retries % 100 == 0:
            log.warning(
                "ingest %s: JetStream publish failed (%s); %d retries so far",
                self.name,
                err or type(err).__name__,
                self.stats.retries,
            )

    async def _retry(self, held: _Held) -> None:
        """Publish one message again (same Nats-Msg-Id) with a capped back-off until JetStream acknowledges it."""
        delay = c.JS_RETRY_INITIAL_S
        while True:
            await asyncio.sleep(delay)
            delay = min(c.JS_RETRY_MAX_S, delay * 2)
            future = await self._send(held)
            if future is None:
                continue
            try:
                ack = await asyncio.wait_for(future, c.JS_PUBLISH_TIMEOUT_S)
            except (nats.errors.Error, TimeoutError) as err:
                self._failed(err)
                continue
            self._acked(held, ack)
            return

    def _acked(self, held: _Held, ack: PubAck) -> None:
        """JetStream stored this message (or already had it): count it, then its MQTT PUBACK."""
        if ack.duplicate:
            self.stats.duplicates += 1
            self._duplicates.inc()
        else:
            self.stats.forwarded += 1
            self._forwarded.inc()
        self._held -= 1  # before the PUBACK: only then may the broker send the next
        held.link.ack(held.mid, held.qos)
        current = self._link
        if current is not None and current.paused and self._held <= self.inflight_max and not self._stopping:
            current.resume()
