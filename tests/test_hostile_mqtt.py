"""Hostile input over a real mosquitto: a flood of bad downlinks of every kind and a burst of 2 MB
messages into a running gateway (nothing crashes, the last good roster still resolves, the link
still acknowledges, memory stays bounded), and the replay downlink republishing kept rows."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.app import Gateway
from tests.helpers import FAR_FUTURE, card_advert, roster_bytes
from tests.hostile_payloads import flood
from tests.mosquitto import Collector, Mosquitto
from tests.test_mqtt_sync import TOPIC, make_config, source, wait_until

FLOOD_MESSAGES = 2000
BURST = 20
BURST_BYTES = 2 * 1024 * 1024
RSS_GROWTH_MAX_KB = 120 * 1024
"""The gateway runs in the test's process: its RSS may grow by this much at most under the flood."""


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class RssSampler:
    def __init__(self) -> None:
        self.peak = rss_kb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_kb())

    def stop(self) -> int:
        self._stop.set()
        self._thread.join(2.0)
        return self.peak


def publisher(server: Mosquitto) -> paho.Client:
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
    client.connect("127.0.0.1", server.port, 30)
    client.loop_start()
    return client


def send_all(client: paho.Client, messages: Iterator[tuple[str, bytes]], qos: int = 1) -> int:
    infos = [client.publish(topic, payload, qos=qos) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(30.0)
    return len(infos)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Mosquitto]:
    with Mosquitto(tmp_path / "broker", persistence=False) as broker:
        yield broker


@pytest.mark.slow
async def test_a_flood_of_bad_downlinks_and_a_burst_of_2_mb_leave_the_gateway_working(
    server: Mosquitto, tmp_path: Path
) -> None:
    cdp = Collector(server, (f"{TOPIC}/#",))
    sender = publisher(server)
    try:
        cdp.publish("cdp/v1/store-1/roster", roster_bytes(version=5, expires=FAR_FUTURE), retain=True)
        async with Gateway(make_config(tmp_path, server.url, protocol="5"), source()) as gateway:
            core = gateway.core
            await wait_until(lambda: core.resolver.roster is not None and core.resolver.roster.version == 5)
            before = rss_kb()
            sampler = RssSampler()
            now = time.time()
            bad = list(flood("store-1", "gw-1", FLOOD_MESSAGES, now=now, version=5, seed=1))
            big = [("cdp/v1/store-1/offers", b'{"version": 1, "x": "' + b"x" * BURST_BYTES + b'"}')] * BURST
            sent = await _send(sender, iter(bad + big))
            await wait_until(lambda: core.counters.downlinks >= sent + 1, within_s=60.0)
            peak = sampler.stop()
            # The link still acknowledges and applies: a withdrawal goes through.
            cdp.publish("cdp/v1/store-1/consent/withdraw", b'{"token": "s-app"}')
            await cdp.until(lambda ms: any(b"edge.consent.withdrawn" in m.payload for m in ms), within_s=20.0)
            sync = gateway.sync
            assert sync is not None
            assert sync.downlinks.failed == 0
            assert sync.link is not None
            assert sync.link.failures == 0
            roster = core.resolver.roster
            assert roster is not None
            assert roster.version == 5  # the last good roster, still resolving
            assert core.resolver.resolve(card_advert(time.time()), time.time()) is not None
            rejected = core.router.rejections.counts
            assert rejected.get("too_deep", 0) > 0
            assert rejected.get("invalid", 0) > 0
            assert rejected.get("stale", 0) > 0
            assert rejected.get("expired", 0) > 0
            assert peak - before < RSS_GROWTH_MAX_KB, f"RSS grew by {(peak - before) // 1024} MB"
    finally:
        sender.loop_stop()
        sender.disconnect()
        cdp.publish("cdp/v1/store-1/roster", b"", retain=True)
        cdp.close()


async def _send(client: paho.Client, messages: Iterator[tuple[str, bytes]]) -> int:
    return await asyncio.to_thread(send_all, client, messages)


async def test_replay_republishes_kept_rows_with_their_id_and_sequence(server: Mosquitto, tmp_path: Path) -> None:
    cdp = Collector(server, (f"{TOPIC}/#",))
    try:
        async with Gateway(make_config(tmp_path, server.url, protocol="5"), source()) as gateway:
            factory = gateway.core.factory
            events = [factory.make("edge.shelf.interaction", time.time(), "baby", {"n": i}) for i in range(30)]
            await gateway.pipeline.publish(events)
            await cdp.until(lambda ms: len([m for m in ms if "/events/" in m.topic]) >= 30)
            first = {e["sequence"]: e for e in cdp.events()}
            with cdp._cond:
                cdp.messages.clear()
            request = json.dumps({"from_sequence": 11, "to_sequence": 20}).encode()
            props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            cdp.client.publish("cdp/v1/store-1/gw-1/replay", request, qos=1, properties=props)
            await cdp.until(lambda ms: len([m for m in ms if "/events/" in m.topic]) >= 10)
            again = cdp.events()
            assert [int(e["sequence"]) for e in again] == list(range(11, 21))
            for event in again:
                assert event == first[event["sequence"]]  # the same id, body and sequence
            bad = cdp.client.publish("cdp/v1/store-1/gw-1/replay", b'{"from_sequence": -1}', qos=1)
            bad.wait_for_publish(5.0)
            await wait_until(lambda: gateway.core.router.rejections.counts.get("invalid", 0) >= 1)
            assert gateway.sync is not None
            assert gateway.sync.replayer.republished == 10
    finally:
        cdp.close()
