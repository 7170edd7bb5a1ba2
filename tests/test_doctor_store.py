"""``edge doctor``'s ``store`` row (issue 18): alone, or the peers named, the topic prefix, and each peer's
retained state on the store broker (a real mosquitto; the peers' states published as their services do)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import paho.mqtt.client as paho

from edge.config import Config, from_mapping
from edge.ops.checks import Result
from edge.ops.doctor import check_store
from edge.peers import messages
from edge.peers.topics import PeerTopics
from edge.sim.multi import MultiStore
from tests.mosquitto import Mosquitto

BROKER_OK = Result("broker", "ok", "connected")


def _config(url: str, gateways: int = 4) -> Config:
    """gw-1 of a store of ``gateways`` (its peers gw-2 ... gw-N)."""
    return from_mapping(MultiStore(gateways=gateways, seed=1, start=1000.0).config(0, mqtt={"url": url}))


def _states(server: Mosquitto, config: Config, said: dict[str, str]) -> None:
    """The peers' retained states, as their services leave them (``online``; ``offline``: will or clean stop)."""
    assert config.store is not None
    topics = PeerTopics(config.store.topic_prefix, config.gateway.store, config.gateway.gateway)
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="the-peers", protocol=paho.MQTTv5)
    client.connect("127.0.0.1", server.port, 30)
    client.loop_start()
    try:
        for peer, state in said.items():
            info = client.publish(topics.state(peer), messages.state_payload(peer, state), qos=1, retain=True)
            info.wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


def test_a_gateway_without_peers_is_alone(tmp_path: Path) -> None:
    config = from_mapping({"gateway": {"store": "store-1", "gateway": "gw-1"}})
    result = asyncio.run(check_store(config, tmp_path, Result("broker", "skip", "no mqtt.url")))
    assert (result.name, result.status) == ("store", "ok")
    assert result.detail.startswith("alone")


def test_every_peer_online_is_ok_and_names_the_peers_and_the_prefix(
    mosquitto_server: Mosquitto, tmp_path: Path
) -> None:
    config = _config(mosquitto_server.url)
    _states(mosquitto_server, config, {"gw-2": "online", "gw-3": "online", "gw-4": "online"})
    result = asyncio.run(check_store(config, tmp_path, BROKER_OK))
    assert result.status == "ok", result
    assert "peers gw-2, gw-3, gw-4 on store-local/v1/store-1/" in result.detail
    assert "gw-2 online, gw-3 online, gw-4 online" in result.detail


def test_a_peer_offline_or_without_a_state_warns_within_the_wait(mosquitto_server: Mosquitto, tmp_path: Path) -> None:
    config = _config(mosquitto_server.url)
    _states(mosquitto_server, config, {"gw-2": "online", "gw-3": "offline"})
    result = asyncio.run(check_store(config, tmp_path, BROKER_OK))
    assert result.status == "warn", result
    assert "gw-2 online, gw-3 offline, gw-4 no state" in result.detail
    assert "edge run" in result.fix


def test_an_unreachable_broker_skips_the_states_but_names_the_peers(tmp_path: Path) -> None:
    config = _config("mqtt://127.0.0.1:1")
    result = asyncio.run(check_store(config, tmp_path, Result("broker", "fail", "refused")))
    assert result.status == "skip"
    assert "peers gw-2, gw-3, gw-4" in result.detail


def test_more_peers_than_the_receive_maximum_are_all_read(mosquitto_server: Mosquitto, tmp_path: Path) -> None:
    """20 gateways: 19 retained states, more than the 16 unacknowledged messages the link lets the broker send."""
    config = _config(mosquitto_server.url, gateways=20)
    assert config.store is not None
    _states(mosquitto_server, config, dict.fromkeys(config.store.peers, "online"))
    result = asyncio.run(check_store(config, tmp_path, BROKER_OK))
    assert result.status == "ok", result
    assert "gw-20 online" in result.detail
