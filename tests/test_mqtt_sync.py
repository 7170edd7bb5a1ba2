"""The MQTT sync against real brokers: mosquitto (MQTT 5 and 3.1.1) and amqtt (3.1.1).

The same client suite runs against each: events out with ids and gap-free sequences, the
retained birth / will status with its session number, roster and withdrawal downlinks
committed before their acknowledgement, the last good state reloaded without a broker.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edge.app import Gateway
from edge.beacons.replay import ItemsSource
from edge.config import Config, from_mapping
from edge.inputs import Item, ShelfReading
from tests.helpers import FAR_FUTURE, card_advert, roster_bytes
from tests.mosquitto import Amqtt, Broker, Collector, Mosquitto

TOPIC = "edge/v1/store-1/gw-1"


def make_config(tmp_path: Path, url: str | None, **mqtt: Any) -> Config:
    data: dict[str, Any] = {
        "gateway": {"store": "store-1", "gateway": "gw-1", "state_dir": str(tmp_path / "state")},
        "ble": {"backend": "replay", "trace": "unused.jsonl"},
        "zones": [{"id": "baby", "scanners": ["gw-1"]}],
        "shelves": [{"id": "shelf-a3", "zone": "baby"}],
        "mqtt": {"reconnect_initial_s": 0.05, "reconnect_max_s": 0.5, **mqtt},
    }
    if url is not None:
        data["mqtt"]["url"] = url
    return from_mapping(data)


def shelf_items(start: float, count: int, spacing_s: float = 0.001) -> Iterator[Item]:
    for i in range(count):
        yield ShelfReading(start + 0.05 + i * spacing_s, "shelf-a3", "pickup", f"{i:013d}")


def source(items: Iterator[Item] | None = None) -> ItemsSource:
    return ItemsSource(items or iter(()), start=time.time(), speed=1.0)


async def wait_until(predicate: Any, within_s: float = 10.0) -> None:
    deadline = time.monotonic() + within_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.01)


@pytest.fixture(params=["mosquitto-5", "mosquitto-3.1.1", "amqtt-3.1.1"])
def broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Broker, str]]:
    kind, protocol = request.param.split("-", 1)
    made: Broker = Mosquitto(tmp_path / "broker") if kind == "mosquitto" else Amqtt(tmp_path / "broker")
    with made:
        yield made, protocol


async def test_events_out_with_ids_and_gapless_sequence(broker: tuple[Broker, str], tmp_path: Path) -> None:
    server, protocol = broker
    sub = Collector(server, (f"{TOPIC}/#",), mqtt5=protocol == "5")
    try:
        config = make_config(tmp_path, server.url, protocol=protocol)
        src = source()
        async with Gateway(config, src) as gateway:
            assert gateway.sync is not None
            await asyncio.wait_for(gateway.sync.connected.wait(), 10)
            events = [
                gateway.core.factory.make("edge.shelf.interaction", time.time(), "shelf-a3", {"i": i})
                for i in range(300)
            ]
            for chunk in range(0, 300, 50):
                await gateway.pipeline.publish(events[chunk : chunk + 50])
            await wait_until(lambda: gateway.sync is not None and gateway.sync.drain.acked >= 300)
            latency = gateway.sync.drain.latency  # publish -> PUBACK, read by the metrics endpoint
            assert latency.count >= 300
            assert 0 < latency.sum_s / latency.count < 5
        sub.wait_for(lambda ms: len([m for m in ms if "/events/" in m.topic]) >= 300)
        got = sub.events()
        assert [e["id"] for e in got] == [e.id for e in events]
        assert [int(e["sequence"]) for e in got] == list(range(1, 301))
        assert all(e["source"] == "urn:edge:store-1:gw-1" for e in got)
        sub.wait_for(lambda ms: any(m.topic == f"{TOPIC}/status" and b'"offline"' in m.payload for m in ms))
        statuses = [json.loads(m.payload) for m in sub.messages if m.topic.endswith("/status")]
        assert statuses[0]["state"] == "online"
        assert statuses[-1]["state"] == "offline"
        assert statuses[0]["session"] == statuses[-1]["session"] == 1
    finally:
        sub.close()
    # Rows are marked sent only after their PUBACK: all of them here.
    async with Gateway(make_config(tmp_path, None), source()) as again:
        assert await again.outbox.depth() == 0


async def test_roster_and_withdrawal_downlinks(broker: tuple[Broker, str], tmp_path: Path) -> None:
    server, protocol = broker
    cdp = Collector(server, (f"{TOPIC}/#",), mqtt5=protocol == "5")
    try:
        cdp.publish("cdp/v1/store-1/roster", roster_bytes(version=3, expires=FAR_FUTURE), retain=True)
        config = make_config(tmp_path, server.url, protocol=protocol)
        async with Gateway(config, source()) as gateway:
            core = gateway.core
            await wait_until(lambda: core.resolver.roster is not None and core.resolver.roster.version == 3)
            assert core.resolver.roster is not None
            assert core.resolver.roster.get("s-card") is not None
            entered = core.factory.make(
                "edge.presence.entered", time.time(), "baby", {"token": "s-card"}, token="s-card"
            )
            await gateway.pipeline.publish([entered])
            await cdp.until(lambda ms: any(b"edge.presence.entered" in m.payload for m in ms))
            cdp.publish("cdp/v1/store-1/consent/withdraw", b'{"token": "s-card"}')
            await cdp.until(lambda ms: any(b"edge.consent.withdrawn" in m.payload for m in ms))
            assert core.resolver.roster is not None
            assert core.resolver.roster.get("s-card") is None
            assert core.on_advert(card_advert(time.time())) == []
            assert await gateway.outbox.count_token("s-card") == 0
            cdp.publish("cdp/v1/store-1/roster", b'{"version": "nope"}', retain=True)
            await cdp.until(lambda ms: any(b"edge.gateway.health" in m.payload for m in ms))
            assert core.counters.downlinks_rejected == 1
            assert core.resolver.roster.version == 3
        # Without a broker: the last good roster is back, the withdrawal still in force.
        offline = make_config(tmp_path, "mqtt://127.0.0.1:9", protocol=protocol)
        async with Gateway(offline, source()) as restarted:
            roster = restarted.core.resolver.roster
            assert roster is not None
            assert roster.version == 3
            assert roster.get("s-card") is None
            assert roster.get("s-app") is not None
    finally:
        cdp.publish("cdp/v1/store-1/roster", b"", retain=True)
        cdp.close()
