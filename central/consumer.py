"""A CDP consumer example: a durable pull consumer on ``EDGE_EVENTS`` with explicit acks, every
message checked with the CloudEvents SDK, and each gateway's events handed on in ``sequence`` order.

The ingest processes race each other's copies of every event into JetStream (the first is stored),
so the stream holds them in arrival order, not quite ``sequence`` order. :class:`Reorder` holds a gateway's later
events while an earlier ``sequence`` is missing, for at most :data:`REORDER_HOLD_S`; a hole still
open then is a **gap** (counted per gateway in ``central_sequence_gaps``, the Prometheus metric)
and the events after it go on; an event of that hole arriving later is still handed on, out of
order (``central_sequence_late``). A ``sequence`` at or below the gateway's watermark is a duplicate
JetStream's window did not catch (counted, acknowledged, not handed on). A message is acknowledged
once it was handed on (or dropped as a duplicate or invalid) and the watermarks covering it were
saved (:mod:`central.watermarks`), so a consumer that dies redelivers what the CDP did not take, and
a restarted one resumes each gateway where it was: no false gap. After a start, a hole is not given
up on before the ack wait has passed (what the previous instance held comes back only then), and a
clean stop gives its held messages back at once (nak).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec
import nats.errors
import nats.js.errors
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from prometheus_client import CollectorRegistry, Counter, Histogram

from central import constants as c
from central.subjects import subject_gateway
from central.watermarks import Marks, Watermarks, raise_if_cancelled
from edge.limits import JSON_DEPTH_MAX, too_deep

log = logging.getLogger(__name__)

_format = JSONFormat()


class _Envelope(msgspec.Struct):
    id: str
    sequence: str
    time: str


_envelope = msgspec.json.Decoder(_Envelope)

SKIPPED_KEPT_MAX = 1000
"""Given-up sequence numbers kept per gateway in the saved watermarks (the newest): a late one of an
older hole counts as a duplicate after a restart."""

Deliver = Callable[[str, str, int, dict[str, Any]], None]
"""``deliver(store, gateway, sequence, event)``: the CDP's write, in per-gateway ``sequence`` order."""


def validate(body: bytes) -> tuple[_Envelope, BaseCloudEvent]:
    """The envelope fields and the SDK's event; raises ValueError for anything invalid. (The SDK
    makes up an ``id`` when there is none, so the id is required here first.)"""
    if too_deep(body):  # msgspec and the SDK's json recurse: RecursionError, which the errors below miss
        raise ValueError(f"the event nests deeper than {JSON_DEPTH_MAX} levels")
    try:
        head = _envelope.decode(body)
        event = _format.read(CloudEvent, body)
    except (msgspec.DecodeError, msgspec.ValidationError, BaseCloudEventException, ValueError) as err:
        raise ValueError(str(err)) from None
    if event.get_id() != head.id or not head.sequence.isdigit():
        raise ValueError(f"event {head.id}: bad id or sequence {head.sequence!r}")
    return head, event


@dataclass
class _Gateway:
    next: int = 1
    held: dict[int, tuple[dict[str, Any], Msg | None]] = field(default_factory=dict)
    missing_since: float | None = None
    skipped: set[int] = field(default_factory=set)
    """Sequence numbers given up on: one arriving later is still handed on (late), not dropped."""


class Reorder:
    """Per-gateway ``sequence`` order, with a bounded hold; pure (the clock is passed in)."""

    def __init__(self, deliver: Deliver, *, hold_s: float = c.REORDER_HOLD_S) -> None:
        self.deliver = deliver
        self.hold_s = hold_s
        self.gateways: dict[tuple[str, str], _Gateway] = {}
        self.duplicates = 0
        self.late = 0
        """Events handed on after their hole had been given up on (out of order)."""
        self.gaps: dict[tuple[str, str], int] = {}
        """Sequence numbers given up on, per (store, gateway)."""
        self.not_before = float("-inf")
        """The hold of a hole counts from this time at the earliest (a restarted consumer's grace)."""

    def restore(self, marks: Marks) -> None:
        """Resume saved watermarks (a restarted consumer)."""
        for store, gateways in marks.items():
            for gateway, (next_seq, skipped) in gateways.items():
                self.gateways[(store, gateway)] = _Gateway(next=next_seq, skipped=set(skipped))

    def state(self) -> Marks:
        """The watermarks to save: per gateway the next sequence and the newest given-up numbers."""
        marks: Marks = {}
        for (store, gateway), gw in self.gateways.items():
            marks.setdefault(store, {})[gateway] = (gw.next, sorted(gw.skipped)[-SKIPPED_KEPT_MAX:])
        return marks

    def held(self) -> list[Msg | None]:
        """The messages held (not handed on) now, forgotten here: to give back on a clean stop."""
        out = [msg for gw in self.gateways.values() for _event, msg in gw.held.values()]
        for gw in self.gateways.values():
            gw.held.clear()
            gw.missing_since = None
        return out

    def add(
        self, store: str, gateway: str, seq: int, event: dict[str, Any], msg: Msg | None, now: float
    ) -> list[Msg | None]:
        """Take one event; the messages now done (to acknowledge): ``[msg]`` for a duplicate."""
        gw = self.gateways.setdefault((store, gateway), _Gateway())
        if seq in gw.skipped:
            gw.skipped.discard(seq)
            self.late += 1
            self.deliver(store, gateway, seq, event)
            return [msg]
        if seq < gw.next or seq in gw.held:
            self.duplicates += 1
            return [msg]
        gw.held[seq] = (event, msg)
        return self._flush(store, gateway, gw, now)

    def _flush(self, store: str, gateway: str, gw: _Gateway, now: float) -> list[Msg | None]:
        done: list[Msg | None] = []
        while gw.next in gw.held:
            event, msg = gw.held.pop(gw.next)
            self.deliver(store, gateway, gw.next, event)
            done.append(msg)
            gw.next += 1
        gw.missing_since = (gw.missing_since or now) if gw.held else None
        return done

    def expire(self, now: float) -> list[tuple[str, str, int, list[Msg | None]]]:
        """Give up on holes older than the hold: (store, gateway, missing count, messages now done)."""
        out: list[tuple[str, str, int, list[Msg | None]]] = []
        for (store, gateway), gw in self.gateways.items():
            if gw.held and gw.missing_since is not None and now - max(gw.missing_since, self.not_before) >= self.hold_s:
                first = min(gw.held)
                missing = first - gw.next
                self.gaps[(store, gateway)] = self.gaps.get((store, gateway), 0) + missing
                gw.skipped.update(range(gw.next, first))
                gw.next = first
                gw.missing_since = None
                out.append((store, gateway, missing, self._flush(store, gateway, gw, now)))
        return out


class CdpConsumer:
    """Pull, validate, order, hand on, acknowledge; metrics in ``registry``."""

    def __init__(
        self,
        js: JetStreamContext,
        deliver: Deliver,
        *,
        durable: str = "cdp",
        registry: CollectorRegistry | None = None,
        hold_s: float = c.REORDER_HOLD_S,
        clock: Callable[[], float] = time.monotonic,
        watermarks: Watermarks | None = None,
        persist: bool = True,
        batch: int = c.CONSUMER_FETCH_BATCH,
        ack_wait_s: float = c.CONSUMER_ACK_WAIT_S,
        save_every_s: float = c.WATERMARK_SAVE_S,
    ) -> None:
        """``watermarks``: where the order state is saved (default: the durable's KV bucket);
        ``persist=False`` keeps it in memory only (a restart then starts every gateway at 1)."""
        self.js = js
        self.durable = durable
        self.watermarks = watermarks or (Watermarks(js, durable) if persist else None)
        self.batch = batch
        self.ack_wait_s = ack_wait_s
        self.save_every_s = save_every_s
        self.clock = clock
        self.registry = registry or CollectorRegistry()
        self.reorder = Reorder(deliver, hold_s=hold_s)
        self.invalid = 0
        self.received = 0
        self.lags_s: list[float] = []
        """Event ``time`` → received here, per event (for p95 in tests and the benchmark)."""
        self._gaps = Counter(
            "central_sequence_gaps",
            "sequence numbers of a gateway never received within the hold (lost or purged)",
            ["store", "gateway"],
            registry=self.registry,
        )
        self._late = Counter(
            "central_sequence_late", "events handed on after their gap was given up on", registry=self.registry
        )
        self._duplicates = Counter(
            "central_consumer_duplicates", "events seen again after JetStream's window", registry=self.registry
        )
        self._invalid = Counter(
            "central_consumer_invalid", "messages that are not valid CloudEvents", registry=self.registry
        )
        self._lag = Histogram(
            "central_end_to_end_lag_seconds",
            "event time to CDP consumer",
            buckets=c.LAG_BUCKETS_S,
            registry=self.registry,
        )

    async def subscribe(self) -> Any:
        config = ConsumerConfig(
            durable_name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.ack_wait_s,
            max_ack_pending=c.CONSUMER_MAX_ACK_PENDING,
        )
        return await self.js.pull_subscribe(
            c.EVENTS_SUBJECTS, durable=self.durable, stream=c.EVENTS_STREAM, config=config
        )

    def handle(self, msg: Msg, now_unix: float) -> list[Msg | None]:
        """One message: validate, order; the messages to acknowledge."""
        self.received += 1
        try:
            head, event = validate(msg.data)
            store, gateway, _type = subject_gateway(msg.subject)
        except (ValueError, Exception) as err:  # noqa: BLE001 - any bad message is counted and acknowledged
            self.invalid += 1
            self._invalid.inc()
            if self.invalid == 1:
                log.error("cdp consumer: invalid message on %s: %s", msg.subject, err)
            return [msg]
        sent = event.get_time()
        if isinstance(sent, datetime):
            lag = max(0.0, now_unix - sent.timestamp())
            self.lags_s.append(lag)
            self._lag.observe(lag)
        duplicates, late = self.reorder.duplicates, self.reorder.late
        done = self.reorder.add(store, gateway, int(head.sequence), msgspec.json.decode(msg.data), msg, self.clock())
        if self.reorder.duplicates != duplicates:
            self._duplicates.inc()
        if self.reorder.late != late:
            self._late.inc()
        return done

    def expire(self) -> list[Msg | None]:
        done: list[Msg | None] = []
        for store, gateway, missing, msgs in self.reorder.expire(self.clock()):
            self._gaps.labels(store, gateway).inc(missing)
            log.warning("cdp consumer: %s/%s: %d sequence numbers missing", store, gateway, missing)
            done += msgs
        return done

    async def run(self, stop: asyncio.Event) -> None:
        if self.watermarks is not None:
            self.reorder.restore(await self.watermarks.load())
        # What an earlier instance held un-acknowledged comes back after the ack wait: no gap before.
        self.reorder.not_before = self.clock() + self.ack_wait_s
        sub = await self.subscribe()
        done: list[Msg | None] = []
        saved_at = self.clock()
        try:
            while not stop.is_set():
                raise_if_cancelled()
                try:
                    msgs = await sub.fetch(self.batch, timeout=c.CONSUMER_FETCH_TIMEOUT_S)
                except (nats.errors.TimeoutError, TimeoutError):
                    msgs = []
                except (nats.errors.Error, nats.js.errors.Error) as err:
                    log.warning("cdp consumer: fetch failed (%s); retrying", err or type(err).__name__)
                    await asyncio.sleep(0.2)
                    continue
                now = time.time()
                for msg in msgs:
                    done += self.handle(msg, now)
                done += self.expire()
                if done and self.clock() - saved_at >= self.save_every_s:
                    await self._commit(done)
                    done, saved_at = [], self.clock()
            await self._commit(done)
            for m in self.reorder.held():  # a clean stop: the next instance gets them at once
                if m is not None:
                    with contextlib.suppress(nats.errors.Error):
                        await m.nak()
        except asyncio.CancelledError:
            log.warning("cdp consumer: cancelled; %d messages not acknowledged come back after the ack wait", len(done))
            raise

    async def _commit(self, done: list[Msg | None]) -> None:
        """Save the watermarks, then acknowledge what they cover (never the other way round)."""
        if self.watermarks is not None:
            await self.watermarks.save(self.reorder.state())
        for m in done:
            if m is not None:
                with contextlib.suppress(nats.errors.Error):
                    await m.ack()
