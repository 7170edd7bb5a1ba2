"""Downlinks from JetStream to the stores' brokers.

- Snapshots (roster, offers, rules, per-gateway config) live in the ``cdp_downlink`` KV bucket;
  every value is published **retained** (QoS 1) on ``cdp/v1/{store}/…``, a deleted key clears the
  retained message. Values not yet PUBACKed are published again on every reconnect.
- Withdrawals arrive on ``cdp.v1.{store}.consent.withdraw`` (the ``CDP_WITHDRAW`` work queue):
  each is published (QoS 1, not retained) to ``cdp/v1/{store}/consent/withdraw`` and acknowledged
  to JetStream only after the broker's PUBACK, so a downlink process that dies redelivers it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
from collections.abc import Callable

import nats.errors
import nats.js.errors
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig
from nats.js.kv import KeyValue

from central import constants as c
from central.errors import CentralError
from central.mqtt_link import link_settings
from central.nats_link import connect
from central.stream import StreamLimits, ensure
from central.subjects import key_topic, withdraw_topic
from edge.mqtt_link import Link, LinkError
from edge.sync.policy import Backoff
from edge.tasks import cancel_and_wait

log = logging.getLogger(__name__)

PUBACK_TIMEOUT_S = 5.0
"""A withdrawal not PUBACKed in 5 s is given back to JetStream (nak) and tried again."""
FETCH_RETRY_S = 0.2
"""After a failed pull (the withdrawal consumer has no leader during an election): retry this soon, so a
withdrawal goes on within a fifth of a second of the new leader."""
FETCH_LOG_EVERY_S = 10.0
"""A run of failed pulls is logged once at its start and then once per this, with the count (an election
takes seconds: five lines a second said nothing more). The pace holds across runs: an election whose pulls
fail, succeed once and fail again is still one line per 10 s."""


class _Failures:
    """Runs of failures, logged at most once per :data:`FETCH_LOG_EVERY_S` with the current run's count."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.count = 0
        self._logged_at = -math.inf

    def note(self, message: str, err: Exception) -> None:
        self.count += 1
        if self.clock() - self._logged_at >= FETCH_LOG_EVERY_S:
            self._logged_at = self.clock()
            log.warning(message, err or type(err).__name__, self.count)

    def end_run(self) -> None:
        """A success ends the run (its count starts again), not the pace of the log."""
        self.count = 0


class Downlink:
    def __init__(
        self, mqtt_url: str, nats_urls: list[str], *, name: str = "1", limits: StreamLimits | None = None
    ) -> None:
        self.settings = link_settings(mqtt_url, f"cdp-downlink-{name}")
        self.nats_urls = nats_urls
        self.name = name
        self.limits = limits
        self.link: Link | None = None
        self.connected = asyncio.Event()
        self.snapshots: dict[str, bytes] = {}
        """topic → latest payload (b"" = clear)."""
        self._unconfirmed: dict[str, int] = {}
        """topic → mid of its publish awaiting a PUBACK."""
        self._waiting: dict[int, asyncio.Future[bool]] = {}
        self.published = 0
        self.withdrawals = 0

    def _on_puback(self, mid: int, accepted: bool) -> None:
        future = self._waiting.pop(mid, None)
        if future is not None and not future.done():
            future.set_result(accepted)
        for topic, pending in list(self._unconfirmed.items()):
            if pending == mid and accepted:
                del self._unconfirmed[topic]

    def _publish_snapshot(self, topic: str) -> None:
        link = self.link
        if link is None or link.closed.done():
            self._unconfirmed[topic] = -1
            return
        mid = link.publish(topic, self.snapshots[topic], retain=True)
        self._unconfirmed[topic] = -1 if mid is None else mid
        self.published += 1

    async def run(self, stop: asyncio.Event) -> None:
        nc = await connect(self.nats_urls, f"cdp-downlink-{self.name}")
        try:
            js = nc.jetstream()
            kv = await ensure(js, self.limits)
            tasks = [
                asyncio.create_task(self._mqtt_loop(stop)),
                asyncio.create_task(self._watch(kv)),
                asyncio.create_task(self._withdrawals(js, stop)),
            ]
            await stop.wait()
            await cancel_and_wait(*tasks)  # a cancellation of run() itself is never swallowed
            if self.link is not None:
                await self.link.close()
        finally:
            with contextlib.suppress(Exception):
                await nc.close()

    async def _mqtt_loop(self, stop: asyncio.Event) -> None:
        backoff = Backoff(0.2, 5.0, 0.5, random.Random())  # noqa: S311 - jitter
        while not stop.is_set():
            link = Link(self.settings, on_message=lambda _l, _m: None, on_puback=self._on_puback)
            try:
                await link.connect(will_topic=f"central/v1/downlink/{self.name}/status", will=b"offline")
            except LinkError as err:
                log.warning("downlink: MQTT %s", err)
                await asyncio.sleep(backoff.next_delay())
                continue
            backoff.reset()
            self.link = link
            for topic in list(self._unconfirmed):  # what the last connection did not confirm
                self._publish_snapshot(topic)
            self.connected.set()
            await link.closed
            self.connected.clear()
            for future in self._waiting.values():
                if not future.done():
                    future.set_result(False)
            self._waiting.clear()
            await asyncio.sleep(backoff.next_delay())

    async def _watch(self, kv: KeyValue) -> None:
        while True:
            try:
                watcher = await kv.watchall()
                while True:
                    entry = await watcher.updates(timeout=60.0)  # type: ignore[no-untyped-call]
                    if entry is None:
                        continue  # the end of the initial values, or a quiet minute
                    try:
                        topic = key_topic(entry.key)
                    except CentralError as err:
                        log.error("downlink: %s", err)
                        continue
                    deleted = entry.operation in ("DEL", "PURGE")
                    self.snapshots[topic] = b"" if deleted else (entry.value or b"")
                    self._publish_snapshot(topic)
            except (nats.errors.Error, nats.js.errors.Error, TimeoutError) as err:
                log.warning("downlink: KV watch ended (%s); watching again", err or type(err).__name__)
                await asyncio.sleep(0.5)

    async def _withdrawals(self, js: nats.js.JetStreamContext, stop: asyncio.Event) -> None:
        config = ConsumerConfig(durable_name="downlink", ack_policy=AckPolicy.EXPLICIT, ack_wait=PUBACK_TIMEOUT_S * 2)
        failures = _Failures(asyncio.get_running_loop().time)
        while True:  # the durable consumer: its create fails while the cluster elects (never give up on it)
            try:
                sub = await js.pull_subscribe(
                    c.WITHDRAW_SUBJECTS, durable="downlink", stream=c.WITHDRAW_STREAM, config=config
                )
                break
            except (nats.errors.Error, nats.js.errors.Error) as err:
                failures.note("downlink: no withdrawal consumer yet (%s; %d tries)", err)
                if stop.is_set():
                    return
                await asyncio.sleep(FETCH_RETRY_S)
        failures = _Failures(failures.clock)  # the pulls' own pace: their first failure is always said
        while not stop.is_set():
            try:
                msgs = await sub.fetch(100, timeout=1.0)
            except (nats.errors.TimeoutError, TimeoutError):
                continue
            except (nats.errors.Error, nats.js.errors.Error) as err:
                failures.note("downlink: withdrawal fetch failed (%s; %d in a row)", err)
                await asyncio.sleep(FETCH_RETRY_S)
                continue
            if failures.count:
                log.info("downlink: withdrawal fetch works again after %d failed", failures.count)
                failures.end_run()
            await asyncio.gather(*(self._forward(m) for m in msgs))

    async def _forward(self, msg: Msg) -> None:
        try:
            topic = withdraw_topic(msg.subject)
        except CentralError as err:
            log.error("downlink: %s", err)
            await msg.term()
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.connected.wait(), PUBACK_TIMEOUT_S)
        link = self.link
        mid = link.publish(topic, msg.data) if link is not None and not link.closed.done() else None
        accepted = False
        if mid is not None:
            future = asyncio.get_running_loop().create_future()
            self._waiting[mid] = future
            with contextlib.suppress(TimeoutError):
                accepted = await asyncio.wait_for(future, PUBACK_TIMEOUT_S)
            self._waiting.pop(mid, None)
        if accepted:
            self.withdrawals += 1
            await msg.ack()
        else:
            await msg.nak(delay=0.5)
