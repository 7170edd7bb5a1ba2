"""A gateway clears each claim it lets go once, not again at the echo of its own claim (issue 18).

Found by the user's pass of docs/multi-gateway.md ("Try it on one machine", watching the owner topics): each
hand-off at once put three empty messages on the old owner's claim topic. The owner publishes its claim
(naming the gateway it hands to), lets the shopper go and clears the claim once its words are out; the
broker's echo of that claim, read after the release, looked like "a claim left from before a restart" and
was cleared again. Such a claim comes from the broker's retained store when the gateway (re)subscribes
(MQTT's retain flag set), the echo of a live publish does not: only the former is cleared.

gw-2 of a three-gateway store on a real mosquitto: its real core, pipeline, SQLite outbox and peers
connection; its inbox is read only once the release is done (the echo waits there, as it did in the run).
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import paho.mqtt.client as paho

from edge.app import build_ports
from edge.clock import ManualClock
from edge.config import from_mapping
from edge.core import Core
from edge.events import EventFactory
from edge.outbox import Outbox
from edge.peers import messages
from edge.peers.messages import Claim
from edge.peers.service import Peers
from edge.peers.topics import PeerTopics
from edge.pipeline import Pipeline
from edge.roster import parse_roster
from edge.sim.multi import MultiStore
from tests.mosquitto import Collector, Mosquitto
from tests.peers_replay import START, TOKEN, until
from tests.test_peers_pipeline import stop

LEFT = "shopper-0002"
"""A token whose claim gw-2's previous process left retained on the broker."""


def _left_from_before(mosquitto_server: Mosquitto, topic: str) -> None:
    """gw-2's previous process: its claim on ``LEFT``, retained, then gone."""
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="gw-2", protocol=paho.MQTTv5)
    client.connect("127.0.0.1", mosquitto_server.port, 30)
    client.loop_start()
    info = client.publish(topic, messages.encoder.encode(Claim(LEFT, "gw-2", 3, "z2")), qos=1, retain=True)
    info.wait_for_publish(10)
    client.disconnect()
    client.loop_stop()


async def test_a_claim_let_go_is_cleared_once_and_one_left_from_before_still_is(
    mosquitto_server: Mosquitto, tmp_path: Path
) -> None:
    multi = MultiStore(gateways=3, seed=1, start=START)
    config = from_mapping(multi.config(1, mqtt={"url": mosquitto_server.url, "reconnect_initial_s": 0.05}))
    assert config.store is not None
    topics = PeerTopics(config.store.topic_prefix, "store-1", "gw-2")
    _left_from_before(mosquitto_server, topics.owner(LEFT))
    watch = Collector(mosquitto_server, (topics.owner(TOKEN), topics.owner(LEFT)))
    clock = ManualClock(START)
    core = Core(config, EventFactory("store-1", "gw-2", random.Random(1)))
    core.set_roster(parse_roster(multi.roster(3)), START)
    outbox = Outbox(tmp_path / "state", "urn:edge:store-1:gw-2")
    await outbox.__aenter__()
    pipeline = Pipeline(core, outbox)
    peers = Peers(build_ports(config, core, pipeline, clock, tmp_path / "state"), config.store)
    tasks = [asyncio.create_task(peers._connection_loop()), asyncio.create_task(peers.releases.run())]
    try:
        await until(peers.connected.is_set, "gw-2 on the store broker")
        assert peers.arbiter.adopt(TOKEN, "gw-2", 1, 0) is not None
        peers.claims.claim(Claim(TOKEN, "gw-2", 1, "z2"))
        await asyncio.to_thread(watch.wait_for, lambda ms: any(m.topic == topics.owner(TOKEN) for m in ms))
        moved = peers.arbiter.adopt(TOKEN, "gw-3", 2, 0)  # the arbitration gives the shopper to gw-3
        assert moved is not None
        await peers._apply(moved, clock.now())
        await until(lambda: TOKEN not in peers.releases.pending, "the release")
        assert peers.intake.waiting >= 2  # its claim's echo and the claim left from before, not read yet
        tasks.append(asyncio.create_task(peers._messages()))
        await until(lambda: peers.intake.waiting == 0, "gw-2 read its inbox")
        await asyncio.to_thread(
            watch.wait_for, lambda ms: any(m.topic == topics.owner(LEFT) and not m.payload for m in ms)
        )
        await asyncio.sleep(0.5)  # a second clear would follow the echo within milliseconds
    finally:
        await stop(tasks, peers, outbox)
        watch.close()
    words = [bytes(m.payload) for m in watch.messages if m.topic == topics.owner(TOKEN)]
    assert [w != b"" for w in words] == [True, False]  # its claim, then one clear (was: two more)
    left = [bytes(m.payload) for m in watch.messages if m.topic == topics.owner(LEFT)]
    assert [w != b"" for w in left] == [True, False]  # the claim left from before: cleared, as before
