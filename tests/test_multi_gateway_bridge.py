"""The store broker bridged to a "central" one with hardware/mosquitto/bridge.conf's topic lines:
events cross, the gateways' store-local summaries and claims never do (two real mosquitto processes)."""

from __future__ import annotations

import re
import time
from pathlib import Path

from tests.mosquitto import Collector, Mosquitto

BRIDGE = Path(__file__).parent.parent / "hardware" / "mosquitto" / "bridge.conf"


def bridge_topics() -> list[str]:
    """The ``topic`` lines of the shipped bridge example, as they are."""
    return [line for line in BRIDGE.read_text().splitlines() if re.match(r"^topic\s", line)]


def test_local_topics_never_cross_the_bridge(tmp_path: Path) -> None:
    topics = bridge_topics()
    assert topics
    assert not any("store-local" in line for line in topics)
    with Mosquitto(tmp_path / "central", persistence=False) as central:
        extra = "\n".join(
            [
                # tests/mosquitto.py sets 0 (unlimited) for clients; mosquitto 2.0's bridge then never connects.
                "max_inflight_messages 20",
                "connection central",
                f"address 127.0.0.1:{central.port}",
                "bridge_protocol_version mqttv50",
                "remote_clientid bridge-store-1",
                "cleansession true",
                "restart_timeout 1 2",
                *topics,
            ]
        )
        with Mosquitto(tmp_path / "store", persistence=False, extra=extra + "\n") as store:
            up = Collector(central, ("#",))
            local = Collector(store, ("#",))
            try:
                event = b'{"type": "edge.presence.entered"}'
                deadline = time.monotonic() + 10
                # The bridge connects asynchronously: publish until the first event crosses.
                while not any(m.topic.startswith("edge/v1/store-1/gw-1/events/") for m in up.messages):
                    assert time.monotonic() < deadline, "the bridge never forwarded an event"
                    local.publish("edge/v1/store-1/gw-1/events/edge.presence.entered", event)
                    time.sleep(0.2)
                for kind in ("sightings", "state", "owner/0123456789abcdef"):
                    local.publish(f"store-local/v1/store-1/gw-1/{kind}", b'{"gateway": "gw-1"}', retain=True)
                local.publish("edge/v1/store-1/gw-1/events/edge.presence.exited", event)
                up.wait_for(lambda ms: any(m.topic.endswith("edge.presence.exited") for m in ms))
                local.wait_for(lambda ms: sum(m.topic.startswith("store-local/") for m in ms) == 3)
                time.sleep(0.5)  # nothing more (the bridge forwards in order: anything crossing came before the exit)
                assert not [m.topic for m in up.messages if m.topic.startswith("store-local/")]
            finally:
                up.close()
                local.close()
