"""``MqttSync``: the gateway's link to the CDP, one service (:mod:`edge.ports`).

Its run starts the connection loop: connect (persistent session, retained ``offline`` last will
with this connection's session number), publish the retained ``online`` birth, subscribe to the
downlinks, drain the outbox until the link drops, then reconnect after a jittered, capped
back-off (:mod:`edge.backoff`). The outbox keeps filling meanwhile. Downlinks go to the core's
writer through the ports and are acknowledged after their commit (:mod:`edge.sync.downlink`).
Stopping waits (bounded) for the in-flight PUBACKs, publishes ``offline`` and waits (bounded)
for its PUBACK, then disconnects. The last good roster is restored by the gateway before any
service runs (:mod:`edge.laststate`).
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import asdict

import msgspec
import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge import __version__
from edge import constants as c
from edge.backoff import Backoff
from edge.mqtt_link import Link, LinkError, LinkSettings
from edge.ports import Ports, Ready
from edge.router import Route
from edge.sync.downlink import Downlinks
from edge.sync.drain import Drain
from edge.sync.messages import Status
from edge.sync.replay import REPLAY_MAX_BYTES, Replayer, decode_replay, replay_topic

log = logging.getLogger(__name__)

_status = msgspec.json.Encoder()


class MqttSync:
    name = "mqtt"

    def __init__(self, ports: Ports, *, rng: random.Random | None = None) -> None:
        config = ports.config
        self.ports = ports
        self.settings = LinkSettings.from_config(config)
        self.topics = ports.topics
        self.drain = Drain(ports.outbox, self.topics)
        self.downlinks = Downlinks(ports)
        self.replayer = Replayer(ports.outbox, self.topics)
        self.replay_topic = replay_topic(self.topics)
        ports.route(
            Route(self.replay_topic, decode_replay, self.replayer.apply, owner="mqtt", max_bytes=REPLAY_MAX_BYTES)
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
        self._own_acks: dict[int, asyncio.Future[bool]] = {}
        """mid → future, for the publishes the sync waits on itself (the offline status)."""

    def health(self) -> dict[str, int]:
        """Counters for ``edge.gateway.health`` and the status message."""
        outbox = self.ports.outbox
        return {
            "outbox_rows": outbox.rows,
            "outbox_bytes": outbox.bytes,
            "mqtt_published": self.drain.published,
            "mqtt_acked": self.drain.acked,
            "mqtt_refused": self.drain.refused,
            "mqtt_connections": self.connections,
            "mqtt_handler_failures": self.link.failures if self.link is not None else 0,
            **self.downlinks.health(),
            **self.replayer.health(),
        }

    def _status(self, state: str) -> bytes:
        health = dict(asdict(self.ports.view.counters))
        health.update(self.health())
        status = Status(state, self.session, __version__, self.topics.gateway, health)  # type: ignore[arg-type]
        return _status.encode(status)

    async def run(self, ready: Ready) -> None:
        """Until cancelled; ready at once (capture does not wait for the broker)."""
        undo = [
            self.ports.subscribe(self.drain.notify),
            self.ports.report(self.health),
            self.ports.uplink.attach(self._send_raw),
        ]
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self.downlinks.run(), name="edge-mqtt-downlinks")
                group.create_task(self._connection_loop(), name="edge-mqtt-link")
                ready()
        finally:
            for step in undo:
                step()
            await self._close()

    async def _close(self) -> None:
        link = self.link
        if link is not None and not link.closed.done():
            await self.drain.settle(c.MQTT_CLOSE_TIMEOUT_S)
            mid = link.publish(self.topics.status, self._status("offline"), retain=True)
            if mid is not None:
                acked = self._own_acks[mid] = asyncio.get_running_loop().create_future()
                try:
                    async with asyncio.timeout(c.MQTT_CLOSE_TIMEOUT_S):
                        await asyncio.wait({acked, link.closed}, return_when=asyncio.FIRST_COMPLETED)
                except TimeoutError:
                    log.warning("MQTT: no PUBACK for the offline status within %.1f s", c.MQTT_CLOSE_TIMEOUT_S)
                finally:
                    self._own_acks.pop(mid, None)
            await link.close()
        await self.drain.commit_acks()

    def _send_raw(self, topic: str, payload: bytes, content_type: str) -> bool:
        """The ports' uplink: QoS 0 (outside the drain's in-flight window, which the broker's
        receive maximum bounds), with the MQTT 5 content type."""
        link = self.link
        if link is None or link.closed.done() or not self.connected.is_set():
            return False
        props = None
        if self.settings.mqtt5:
            props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            props.ContentType = content_type
        info = link.client.publish(topic, payload, qos=0, properties=props)
        return info.rc == paho.MQTT_ERR_SUCCESS

    def _on_message(self, link: Link, message: paho.MQTTMessage) -> None:
        self.downlinks.on_message(link, message.topic, bytes(message.payload), message.mid, message.qos)

    def _on_puback(self, mid: int, accepted: bool) -> None:
        own = self._own_acks.get(mid)
        if own is None:
            if not self.replayer.on_puback(mid):
                self.drain.on_puback(mid, accepted)
        elif not own.done():
            own.set_result(accepted)

    async def _connection_loop(self) -> None:
        settings = self.settings
        while True:
            self.session = await self.ports.outbox.next_session()
            link = Link(settings, on_message=self._on_message, on_puback=self._on_puback)
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
            link.subscribe((*self.topics.subscriptions(), self.replay_topic))
            self.connected.set()
            replaying = asyncio.create_task(self.replayer.run(link, window), name="edge-mqtt-replay")
            try:
                await self.drain.run(link, window)
                why = await link.closed
            finally:
                replaying.cancel()
                await asyncio.wait({replaying})  # not `await replaying`: a stop arriving now must not be swallowed
            self.connected.clear()
            delay = self.backoff.next_delay()
            log.warning("MQTT connection lost (%s); reconnecting in %.1f s", why, delay)
            await asyncio.sleep(delay)
