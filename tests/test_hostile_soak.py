"""What the soak of benchmarks/hostile.py relies on, on a real mosquitto with persistence.

Every shelf reading the broker PUBACKed comes out as an event: sent while the gateway is
connected, while it reconnects after a broker restart, or while it is stopped (its persistent
session keeps them). A reading published before the gateway's *first* SUBSCRIBE goes to nobody:
a broker keeps messages only for a session that exists. That was the first soak's 37 "lost"
readings (its publisher started before the gateway had subscribed), not a fault of the gateway.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from edge.app import Gateway
from tests.mosquitto import Collector, Mosquitto
from tests.test_mqtt_sync import TOPIC, make_config, source, wait_until

SHELF = "edge/v1/store-1/shelf/shelf-a3"
READINGS = 20
"""Per phase: enough for several in flight at the broker's restart, few enough to stay fast."""


def reading(sku: str) -> bytes:
    return json.dumps({"kind": "shelf", "action": "touch", "sku": sku}).encode()


def skus(cdp: Collector) -> set[str]:
    return {e["data"]["sku"] for e in cdp.events() if e.get("type") == "edge.shelf.interaction"}


async def send(cdp: Collector, names: list[str]) -> None:
    """Publish at QoS 1, each PUBACKed by the broker before the next."""
    for name in names:
        await asyncio.to_thread(cdp.publish, SHELF, reading(name))


async def restart(broker: Mosquitto, cdp: Collector) -> None:
    """Stop and start the broker; return once the collector (and publisher) has reconnected."""
    await asyncio.to_thread(broker.stop)
    await wait_until(lambda: not cdp.client.is_connected(), within_s=20.0)
    await asyncio.to_thread(broker.start)
    await wait_until(cdp.client.is_connected, within_s=20.0)


async def subscribed(cdp: Collector, within_s: float = 20.0) -> None:
    """Probe readings until one comes out as an event: the gateway's subscription exists."""
    deadline = time.monotonic() + within_s
    for index in range(10_000):
        await send(cdp, [f"PROBE-{index}"])
        try:
            await cdp.until(lambda ms: any(b"PROBE-" in m.payload for m in ms), within_s=0.5)
            return
        except TimeoutError:
            if time.monotonic() > deadline:
                raise


async def test_readings_survive_broker_restarts_and_a_stopped_gateway(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path / "broker")
    broker.start()
    cdp = Collector(broker, (f"{TOPIC}/events/#",), client_id="cdp-soak")
    try:
        await send(cdp, ["EARLY"])  # no gateway session yet: the broker keeps it for nobody
        config = make_config(tmp_path, broker.url, protocol="5")
        names = [f"{phase}-{i}" for phase in "ABC" for i in range(READINGS)]
        async with Gateway(config, source()) as gateway:
            assert gateway.sync is not None
            await subscribed(cdp)
            await send(cdp, names[:READINGS])  # connected
            await restart(broker, cdp)
            await send(cdp, names[READINGS : 2 * READINGS])  # while the gateway reconnects
            await wait_until(lambda: gateway.sync is not None and gateway.sync.connections >= 2, within_s=20.0)
        await send(cdp, names[2 * READINGS :])  # the gateway stopped: its session keeps them
        await restart(broker, cdp)
        async with Gateway(config, source()):
            await cdp.until(lambda ms: set(names) <= skus(cdp), within_s=30.0)
        assert "EARLY" not in skus(cdp)
    finally:
        cdp.close()
        broker.stop()
