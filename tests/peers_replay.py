"""gw-2 and gw-3 of a three-gateway store, played against a real mosquitto (issue 18): shared by
tests/test_peers_will.py and tests/test_peers_duplicate_entered.py (not collected: no ``test_`` prefix).

:class:`Gw2` is gw-2's real core, pipeline and SQLite outbox on a manual clock (the engine's time), its
peers service's connection, intake, hand-overs and releases running on the broker; :class:`Gw3` is a
paho client with gw-3's retained state, last will and claims on :data:`TOKEN`.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from edge import events as ev
from edge.app import build_ports
from edge.clock import ManualClock
from edge.config import from_mapping
from edge.core import Core
from edge.events import Event, EventFactory
from edge.outbox import Outbox
from edge.peers import messages
from edge.peers.messages import Claim
from edge.peers.service import Peers
from edge.peers.topics import PeerTopics
from edge.pipeline import Pipeline
from edge.presence import Sighting, Sightings
from edge.roster import parse_roster
from edge.sim.multi import MultiStore
from edge.tasks import cancel_and_wait
from tests.mosquitto import Mosquitto

TOKEN = "shopper-0001"
START = 1000.0
WAIT_S = 10.0
"""Bound on each real-time wait (the service answers in milliseconds when idle)."""
STEP_S = 0.25
"""The engine's time advances in these steps (its tick is shorter)."""


async def until(predicate: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {WAIT_S} s")
        await asyncio.sleep(0.01)


class Gw3:
    """gw-3 on the store broker: its retained state (last will: ``offline``) and its claims."""

    def __init__(self, server: Mosquitto, store: MultiStore) -> None:
        config = from_mapping(store.config(2, mqtt={"url": server.url}))
        assert config.store is not None
        self.topics = PeerTopics(config.store.topic_prefix, "store-1", "gw-3")
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="gw-3", protocol=paho.MQTTv5)
        self.client.will_set(self.topics.state(), messages.state_payload("gw-3", "offline"), qos=1, retain=True)
        self.client.connect("127.0.0.1", server.port, 30)
        self.client.loop_start()
        self.publish(self.topics.state(), messages.state_payload("gw-3", "online"))

    def publish(self, topic: str, payload: bytes) -> None:
        info = self.client.publish(topic, payload, qos=1, retain=True)
        info.wait_for_publish(WAIT_S)
        assert info.is_published(), topic

    def claims(self, zone: str | None) -> None:
        self.publish(self.topics.owner(TOKEN), messages.encoder.encode(Claim(TOKEN, "gw-3", 1, zone)))

    def dies(self) -> None:
        """Gone without a clean stop: the broker publishes its will (its claim stays retained)."""
        self.client.disconnect(reasoncode=ReasonCode(PacketTypes.DISCONNECT, "Disconnect with will message"))
        self.client.loop_stop()

    def stops(self) -> None:
        """A clean stop (edge/peers/service.py): every claim cleared, then ``offline``."""
        self.publish(self.topics.owner(TOKEN), b"")
        self.publish(self.topics.state(), messages.state_payload("gw-3", "offline"))
        self.client.disconnect()
        self.client.loop_stop()

    def close(self) -> None:
        if self.client.is_connected():
            self.client.disconnect()
            self.client.loop_stop()
        self.client._reset_sockets(sockpair_only=True)


class Gw2:
    """gw-2 of a three-gateway store: a real core, pipeline and outbox on a manual clock; its peers
    service's connection, intake, hand-overs and releases running on a real mosquitto."""

    def __init__(self, server: Mosquitto, tmp_path: Path) -> None:
        self.multi = MultiStore(gateways=3, seed=1, start=START)
        self.config = from_mapping(self.multi.config(1, mqtt={"url": server.url, "reconnect_initial_s": 0.05}))
        self.clock = ManualClock(START)
        self.core = Core(self.config, EventFactory("store-1", "gw-2", random.Random(1)))
        self.core.set_roster(parse_roster(self.multi.roster(2)), START)
        self.outbox = Outbox(tmp_path, "urn:edge:store-1:gw-2")
        self.tmp_path = tmp_path
        self.said: list[Event] = []

    async def __aenter__(self) -> Gw2:
        await self.outbox.__aenter__()
        self.pipeline = Pipeline(self.core, self.outbox)
        self.pipeline.subscribe(self.said.append)
        ports = build_ports(self.config, self.core, self.pipeline, self.clock, self.tmp_path)
        assert self.config.store is not None
        self.peers = peers = Peers(ports, self.config.store)
        self.core.owns, self.core.sighted = peers.owns, peers.sighted
        self.tasks = [
            asyncio.create_task(peers._connection_loop()),
            asyncio.create_task(peers._messages()),
            asyncio.create_task(peers._handovers()),
            asyncio.create_task(peers.releases.run()),
        ]
        await until(peers.connected.is_set, "gw-2 on the store broker")
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self.tasks:
            await cancel_and_wait(task)
        link = self.peers.link
        if link is not None:
            await link.close()
        await self.outbox.__aexit__(None, None, None)

    def presence(self) -> list[tuple[str, object, object]]:
        """What gw-2 told the CDP about the shopper: (type, zone, from_gateway)."""
        return [
            (e.type, e.data.get("zone"), e.data.get("from_gateway"))
            for e in self.said
            if e.type in (ev.PRESENCE_ENTERED, ev.PRESENCE_EXITED) and e.data.get("token") == TOKEN
        ]

    async def hears(self, until: float, z3_rssi: int) -> None:
        """Its engine hears the shopper through gw-3's summaries (z3's scanner) and its own scanner,
        every 0.2 s up to ``until`` (engine time)."""
        now = self.clock.now()
        while now < until:
            now = round(now + 0.2, 3)
            self.clock.advance(now - self.clock.now())
            sightings = (
                Sighting(TOKEN, "ibeacon", "gw-3-s", z3_rssi, -59.0, now),
                Sighting(TOKEN, "ibeacon", "gw-2-s", -80, -59.0, now),
            )
            await self.pipeline.deliver(Sightings(now, sightings))
            await self.ticks()

    async def ticks(self) -> None:
        await self.pipeline.step(None, self.clock.now())
        await self.pipeline.flush()

    async def takes_over(self) -> None:
        """The slot after gw-3's will: gw-2 heard the shopper, gw-3 is gone, so the arbitration moves
        the shopper to gw-2 (the real rule), and gw-2 applies the change."""
        slot = int(self.clock.now())
        self.peers.arbiter.add(slot, "gw-2", {TOKEN: -80.0})
        changes = self.peers.arbiter.evaluate(slot, {"gw-2"} | self.peers.alive)
        assert [(c.token, c.old, c.new) for c in changes] == [(TOKEN, "gw-3", "gw-2")]
        await self.peers._apply(changes[0], self.clock.now())

    async def waits(self, seconds: float) -> None:
        """Engine time passes (no more samples); the hand-over loop looks after each step."""
        end = self.clock.now() + seconds
        while self.clock.now() < end:
            self.clock.advance(STEP_S)
            await self.ticks()
            self.peers._nudge.set()
            await asyncio.sleep(0.02)


@asynccontextmanager
async def gw2_and_gw3(server: Mosquitto, tmp_path: Path) -> AsyncIterator[tuple[Gw2, Gw3]]:
    """gw-2 running, gw-3 online in its view; both closed after."""
    async with Gw2(server, tmp_path) as gw2:
        gw3 = Gw3(server, gw2.multi)
        try:
            await until(lambda: "gw-3" in gw2.peers.alive, "gw-3 online")
            yield gw2, gw3
        finally:
            gw3.close()
