"""``MqttSync``: the gateway's link to the CDP as one async context manager.

Entering restores the last good roster (and withdrawals) from SQLite and starts, in the
background, the connection loop: connect (persistent session, retained ``offline`` last will
with this connection's session number), publish the retained ``online`` birth, subscribe to the
downlinks, drain the outbox until the link drops, then reconnect after a jittered, capped
back-off. The outbox keeps filling meanwhile. Leaving publishes ``offline`` and disconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import asdict
from types import TracebackType
from typing import TYPE_CHECKING, Self

import msgspec
import paho.mqtt.client as paho

from edge import __version__
from edge import constants as c
from edge.backoff import Backoff
from edge.sync.client import Link, LinkError, LinkSettings
from edge.sync.downlink import Downlinks
from edge.sync.drain import Drain
from edge.sync.messages import Status
from edge.sync.state import StateStore
from edge.sync.topics import Topics

if TYPE_CHECKING:
    from edge.app import Gateway

log = logging.getLogger(__name__)

_status = msgspec.json.Encoder()


class MqttSync:
    def __init__(self, gateway: Gateway, *, rng: random.Random | None = None) -> None:
        config = gateway.config
        self.gateway = gateway
        self.settings = LinkSettings.from_config(config)
        self.topics = Topics(config.gateway.store, config.gateway.gateway)
        self.drain = Drain(gateway.outbox, self.topics)
        self.state = StateStore(gateway.outbox.db, gateway.outbox.lock)
        self.downlinks = Downlinks(
            gateway.core, gateway.pipeline, self.state, self.topics, gateway.source.clock, self.health
        )
        self.backoff = Backoff(
            config.mqtt.reconnect_initial_s,
            config.mqtt.reconnect_max_s,
            c.MQTT_RECONNECT_JITTER,
            rng or random.Random(),  # noqa: S311 - jitter, not a secret
        )
        self.connected = asyncio.Event()
        self.connections = 0
        self.session = 0
        self.link: Link | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def health(self) -> dict[str, int]:
        """Counters for ``edge.gateway.health`` and the status message."""
        outbox = self.gateway.outbox
        return {
            "outbox_rows": outbox.rows,
            "outbox_bytes": outbox.bytes,
            "mqtt_published": self.drain.published,
            "mqtt_acked": self.drain.acked,
            "mqtt_refused": self.drain.refused,
            "mqtt_connections": self.connections,
        }

    def _status(self, state: str) -> bytes:
        health = dict(asdict(self.gateway.core.counters))
        health.update(self.health())
        status = Status(state, self.session, __version__, self.topics.gateway, health)  # type: ignore[arg-type]
        return _status.encode(status)

    async def __aenter__(self) -> Self:
        await self.state.open()
        await self.downlinks.restore_roster()
        self.gateway.pipeline.sinks.append(self.drain.notify)
        self._tasks = [
            asyncio.create_task(self._downlinks(), name="edge-mqtt-downlinks"),
            asyncio.create_task(self._connection_loop(), name="edge-mqtt-link"),
        ]
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        link = self.link
        if link is not None and not link.closed.done():
            with contextlib.suppress(Exception):
                await self.drain.settle(c.MQTT_CLOSE_TIMEOUT_S)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if link is not None and not link.closed.done():
            mid = link.publish(self.topics.status, self._status("offline"), retain=True)
            if mid is not None:
                await asyncio.sleep(0.05)
            await link.close()
        with contextlib.suppress(Exception):
            await self.drain.commit_acks()

    async def _downlinks(self) -> None:
        await self.downlinks.restore_owned()
        await self.downlinks.run()

    def _on_message(self, link: Link, message: paho.MQTTMessage) -> None:
        self.downlinks.on_message(link, message.topic, bytes(message.payload), message.mid, message.qos)

    async def _connection_loop(self) -> None:
        settings = self.settings
        while True:
            self.session = await self.gateway.outbox.next_session()
            link = Link(settings, on_message=self._on_message, on_puback=self.drain.on_puback)
            try:
                _present, window = await link.connect(will_topic=self.topics.status, will=self._status("offline"))
            except LinkError as err:
                delay = self.backoff.next_delay()
                log.warning("MQTT: %s; retrying in %.1f s", err, delay)
                await asyncio.sleep(delay)
                continue
            self.backoff.reset()
            self.link = link
            self.connections += 1
            log.info("MQTT connected to %s:%d (session %d)", settings.host, settings.port, self.session)
            link.publish(self.topics.status, self._status("online"), retain=True)
            link.subscribe(self.topics.subscriptions())
            self.connected.set()
            await self.drain.run(link, window)
            why = await link.closed
            self.connected.clear()
            delay = self.backoff.next_delay()
            log.warning("MQTT connection lost (%s); reconnecting in %.1f s", why, delay)
            await asyncio.sleep(delay)
