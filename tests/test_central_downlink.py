"""Downlinks from JetStream to a real mosquitto through a real three-node NATS cluster: KV snapshots
become retained ``cdp/v1/{store}/…`` messages (a deleted key clears it), and a withdrawal put on
``cdp.v1.{store}.consent.withdraw`` reaches the store broker within 2 s (the contract), measured."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import nats

from central.cluster import NatsCluster
from central.downlink import Downlink
from central.stream import StreamLimits, ensure
from central.subjects import key_topic, snapshot_key, withdraw_subject
from tests.mosquitto import Collector, Mosquitto

WITHDRAWAL_BOUND_S = 2.0


def test_subject_names() -> None:
    assert key_topic(snapshot_key("s1", "roster")) == "cdp/v1/s1/roster"
    assert key_topic(snapshot_key("s1", "config", "g1")) == "cdp/v1/s1/g1/config"
    assert withdraw_subject("s1") == "cdp.v1.s1.consent.withdraw"


async def test_snapshots_retained_and_withdrawals_within_2_s(tmp_path: Path) -> None:
    with NatsCluster(tmp_path / "nats") as cluster, Mosquitto(tmp_path / "mosquitto") as broker:
        nc = await nats.connect(servers=cluster.urls)
        js = nc.jetstream()
        kv = await ensure(js, StreamLimits(max_bytes=64 * 1024**2))
        await kv.put(snapshot_key("s1", "roster"), b'{"version": 1}')
        downlink = Downlink(broker.url, cluster.urls, name="t")
        stop = asyncio.Event()
        task = asyncio.create_task(downlink.run(stop))
        collector = await asyncio.to_thread(Collector, broker, ("cdp/#",))
        try:
            await collector.until(lambda ms: any(m.topic == "cdp/v1/s1/roster" for m in ms), 10)
            await kv.put(snapshot_key("s1", "offers"), b'{"offers": []}')
            await kv.put(snapshot_key("s1", "config", "g1"), b"{}")
            await collector.until(lambda ms: {m.topic for m in ms} >= {"cdp/v1/s1/offers", "cdp/v1/s1/g1/config"}, 10)
            await kv.delete(snapshot_key("s1", "offers"))
            await collector.until(lambda ms: any(m.topic == "cdp/v1/s1/offers" and not m.payload for m in ms), 10)

            latencies = []
            for i in range(10):
                token = f"shopper-{i}"
                sent = time.monotonic()
                await js.publish(withdraw_subject("s1"), json.dumps({"token": token}).encode())

                def arrived(ms: list, token: str = token) -> bool:
                    return any(m.topic == "cdp/v1/s1/consent/withdraw" and token.encode() in m.payload for m in ms)

                await collector.until(arrived, 5)
                latencies.append(time.monotonic() - sent)
            print(f"withdrawal JetStream -> store broker: max {max(latencies) * 1000:.1f} ms over {len(latencies)}")
            assert max(latencies) <= WITHDRAWAL_BOUND_S, latencies
            withdraws = [m for m in collector.messages if m.topic.endswith("/withdraw")]
            assert not any(m.retain for m in withdraws)
        finally:
            collector.close()
            stop.set()
            await asyncio.wait_for(task, 10)
            await nc.close()
        # A late subscriber still gets the retained snapshots: the gateway's view after a restart.
        late = await asyncio.to_thread(Collector, broker, ("cdp/v1/s1/#",))
        try:
            await late.until(lambda ms: {m.topic for m in ms} >= {"cdp/v1/s1/roster", "cdp/v1/s1/g1/config"}, 10)
        finally:
            late.close()
