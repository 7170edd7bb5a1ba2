"""A takeover on a dead (or stopped) owner's last will keeps that owner's last word (issue 18).

Doors seed 6 of benchmarks/multi_gateway.py, the run's end (docs/multi-gateway.md): gw-3, the owner,
sent ``exited`` z3 (its retained claim then named no zone) and went offline; gw-2 took its shoppers
over on the will at once and, its engine still placing the shopper in z3 (the peer's samples reach
it a second late), sent ``entered`` z3 with ``from_gateway: gw-3``, then ``exited`` z3: a spurious
visit upstream. Now the new owner reads the dead owner's last claim as the last word, as a live
hand-off reads the cleared claim: it speaks once its engine agrees (here: silently, "no zone").

Played on gw-2's real core, pipeline and SQLite outbox with a manual clock (the engine's time), its
peers service connected to a real mosquitto; gw-3 is a paho client with gw-3's last will.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
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
from edge.peers.takeover import start
from edge.peers.timing import AGREE_S
from edge.peers.topics import PeerTopics
from edge.pipeline import Pipeline
from edge.presence import Sighting, Sightings
from edge.roster import parse_roster
from edge.sim.multi import MultiStore
from edge.tasks import cancel_and_wait
from tests.mosquitto import Mosquitto, retained

TOKEN = "shopper-0001"
START = 1000.0
WAIT_S = 10.0
"""Bound on each real-time wait (the service answers in milliseconds when idle)."""
STEP_S = 0.25
"""The engine's time advances in these steps (its tick is shorter)."""
LAST_SAMPLE_TO_WILL_S = 3.0
"""From the shopper's last sample (walking out of the door) to gw-3's will. gw-2's engine exits z3
6.25 s after the last sample (the zone's 6 s exit timeout, ticked): still in z3 at the takeover, out
of it 3.25 s later, within AGREE_S."""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Mosquitto]:
    with Mosquitto(tmp_path / "broker", persistence=False) as broker:
        yield broker


async def _until(predicate: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {WAIT_S} s")
        await asyncio.sleep(0.01)


class _Gw3:
    """gw-3 on the store broker: its retained state (last will: ``offline``) and its claims."""

    def __init__(self, server: Mosquitto, store: MultiStore) -> None:
        config = from_mapping(store.config(2, mqtt={"url": server.url}))
        assert config.store is not None
        self.topics = PeerTopics(config.store.topic_prefix, "store-1", "gw-3")
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="gw-3", protocol=paho.MQTTv5)
        self.client.will_set(self.topics.state(), messages.state_payload("gw-3", "offline"), qos=1, retain=True)
        self.client.connect("127.0.0.1", server.port, 30)
        self.client.loop_start()
        self._publish(self.topics.state(), messages.state_payload("gw-3", "online"))

    def _publish(self, topic: str, payload: bytes) -> None:
        info = self.client.publish(topic, payload, qos=1, retain=True)
        info.wait_for_publish(WAIT_S)
        assert info.is_published(), topic

    def claims(self, zone: str | None) -> None:
        self._publish(self.topics.owner(TOKEN), messages.encoder.encode(Claim(TOKEN, "gw-3", 1, zone)))

    def dies(self) -> None:
        """Gone without a clean stop: the broker publishes its will (its claim stays retained)."""
        self.client.disconnect(reasoncode=ReasonCode(PacketTypes.DISCONNECT, "Disconnect with will message"))
        self.client.loop_stop()

    def stops(self) -> None:
        """A clean stop (edge/peers/service.py): every claim cleared, then ``offline``."""
        self._publish(self.topics.owner(TOKEN), b"")
        self._publish(self.topics.state(), messages.state_payload("gw-3", "offline"))
        self.client.disconnect()
        self.client.loop_stop()

    def close(self) -> None:
        if self.client.is_connected():
            self.client.disconnect()
            self.client.loop_stop()
        self.client._reset_sockets(sockpair_only=True)


class _Gw2:
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

    async def __aenter__(self) -> _Gw2:
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
        await _until(peers.connected.is_set, "gw-2 on the store broker")
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


async def _seed6(server: Mosquitto, tmp_path: Path, gone: str, last_zone: str | None) -> tuple[_Gw2, _Gw3]:
    """gw-3 owns the shopper and last said ``last_zone``; gw-2's engine has them in z3; gw-3 goes."""
    gw2 = _Gw2(server, tmp_path)
    await gw2.__aenter__()
    gw3 = _Gw3(server, gw2.multi)
    peers = gw2.peers
    gw3.claims("z3")
    await _until(lambda: "gw-3" in peers.alive and peers.arbiter.owner(TOKEN) == "gw-3", "gw-3 owns the shopper")
    await gw2.hears(START + 2.0, z3_rssi=-60)
    assert gw2.core.zone_of(TOKEN) == "z3"
    assert gw2.presence() == []  # gw-3 speaks for the shopper, not gw-2
    await gw2.waits(LAST_SAMPLE_TO_WILL_S)
    assert gw2.core.zone_of(TOKEN) == "z3"
    gw3.claims(last_zone)  # its last word (its exited z3, or still z3)
    await _until(lambda: peers.claims.seen[TOKEN].zone == last_zone, "gw-3's last claim")
    gw3.dies() if gone == "killed" else gw3.stops()
    await _until(lambda: "gw-3" not in peers.alive, "gw-3's offline state")
    return gw2, gw3


@pytest.mark.parametrize("gone", ["killed", "stopped"])
async def test_a_takeover_on_the_will_says_no_zone_change_the_cdp_did_not_need(
    server: Mosquitto, tmp_path: Path, gone: str
) -> None:
    gw2, gw3 = await _seed6(server, tmp_path, gone, last_zone=None)
    try:
        peers = gw2.peers
        await gw2.takes_over()
        # Its engine still has the shopper in z3 (the peer's samples late); the last word is "no
        # zone": nothing is said yet (the old code sent entered z3 from gw-3 here, exited z3 after).
        assert gw2.core.zone_of(TOKEN) == "z3"
        assert gw2.presence() == []
        await gw2.waits(AGREE_S)
        assert gw2.core.zone_of(TOKEN) is None  # its engine exited z3 (no sample since)
        await _until(lambda: TOKEN in peers.claims.mine, "gw-2's claim")
        assert gw2.presence() == []  # agreed with the last word: claimed silently
        assert peers.health()["peers_handoffs_unagreed"] == 0
        assert peers.claims.mine[TOKEN] == Claim(TOKEN, "gw-2", 2, None)
        claims = await asyncio.to_thread(retained, server, "store-local/v1/store-1/gw-2/owner/#")
        assert [json.loads(m.payload) for m in claims] == [{"token": TOKEN, "owner": "gw-2", "epoch": 2, "zone": None}]
    finally:
        gw3.close()
        await gw2.__aexit__(None, None, None)


async def test_a_takeover_on_the_will_that_agrees_names_the_dead_owner_at_once(
    server: Mosquitto, tmp_path: Path
) -> None:
    """The kill -9 case of tests/test_multi_gateway_faults.py: the dead owner last said z3, where the
    new owner's engine has the shopper too: one ``entered`` z3 from gw-3, at once."""
    gw2, gw3 = await _seed6(server, tmp_path, "killed", last_zone="z3")
    try:
        await gw2.takes_over()
        await _until(lambda: gw2.presence() != [], "gw-2 speaks")
        assert gw2.presence() == [(ev.PRESENCE_ENTERED, "z3", "gw-3")]
        assert gw2.peers.claims.mine[TOKEN] == Claim(TOKEN, "gw-2", 2, "z3")
    finally:
        gw3.close()
        await gw2.__aexit__(None, None, None)


def test_who_speaks_at_once() -> None:
    """The start of a takeover (edge/peers/takeover.py): only a gateway without a previous owner, given
    its own shopper back, standalone, or without the dead owner's last claim speaks at once."""
    claim = Claim(TOKEN, "gw-3", 1, None)
    alive = {"gw-1"}
    assert start("gw-2", None, None, alive, True).at_once  # nobody owned it
    assert start("gw-2", "gw-3", Claim(TOKEN, "gw-2", 1, "z2"), alive, True).at_once  # its own, given back
    assert start("gw-2", "gw-3", claim, alive, False).at_once  # standalone
    assert start("gw-2", "gw-3", None, alive, True).at_once  # gone, its last word unknown
    live = start("gw-2", "gw-3", claim, {"gw-3"}, True)
    assert (live.at_once, live.silent) == (False, False)  # a hand-off: waits for the clear
    dead = start("gw-2", "gw-3", claim, alive, True)
    assert (dead.speaker, dead.at_once, dead.silent) == ("gw-3", False, True)  # its will: the claim speaks
