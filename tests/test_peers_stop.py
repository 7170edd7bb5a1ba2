"""A clean stop releases what the gateway owned: its claims cleared, then ``offline`` (issue 18).

Before, the service's connection task waited on the link's ``closed`` future itself, and a stop's
cancellation cancelled that future too: the link looked closed, so the stop skipped the clears and
the ``offline`` state, and dropped the socket -- the broker's will said ``offline``, while the
gateway's retained claims stayed until they expired, beside the claims of the gateways that took its
shoppers over (claims held by two at once on the store broker at every end of `edge run`).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from edge.app import Gateway
from edge.config import from_mapping
from edge.peers.messages import Claim
from edge.peers.topics import PeerTopics
from tests.mosquitto import Collector, Mosquitto, retained
from tests.test_mqtt_sync import source

TOPICS = PeerTopics("store-local/v1", "store-1", "gw-1")
TOKENS = ("shopper-a", "shopper-b")
WAIT_S = 20.0
"""Generous: CI machines are loaded; every wait ends as soon as its condition holds."""


def _config(tmp_path: Path, url: str) -> Any:
    return from_mapping(
        {
            "gateway": {"store": "store-1", "gateway": "gw-1", "state_dir": str(tmp_path / "state")},
            "ble": {"backend": "replay", "trace": "unused.jsonl"},
            "zones": [{"id": "baby", "scanners": ["gw-1"]}],
            "mqtt": {"url": url, "reconnect_initial_s": 0.05, "reconnect_max_s": 0.5},
            "store": {"peers": ["gw-2"]},
        }
    )


def _seen(watch: Collector) -> list[tuple[str, bytes]]:
    with watch._cond:
        return [(m.topic, bytes(m.payload)) for m in watch.messages]


async def test_a_clean_stop_clears_every_claim_before_saying_offline(
    mosquitto_server: Mosquitto, tmp_path: Path
) -> None:
    watch = Collector(mosquitto_server, (TOPICS.state(), *(TOPICS.owner(t) for t in TOKENS)))
    try:
        async with Gateway(_config(tmp_path, mosquitto_server.url), source()) as gateway:
            peers = gateway.peers
            assert peers is not None
            await asyncio.wait_for(peers.connected.wait(), WAIT_S)
            for epoch, token in enumerate(TOKENS, start=1):
                peers.claims.claim(Claim(token, "gw-1", epoch, "baby"))
            claimed = {TOPICS.owner(t) for t in TOKENS}
            deadline = time.monotonic() + WAIT_S
            while {t for t, p in _seen(watch) if p} < claimed:
                assert time.monotonic() < deadline, _seen(watch)
                await asyncio.sleep(0.05)
        # Stopped cleanly: each claim cleared (an empty retained message), then "offline".
        deadline = time.monotonic() + WAIT_S
        while not any(t == TOPICS.state() and b"offline" in p for t, p in _seen(watch)):
            assert time.monotonic() < deadline, _seen(watch)
            await asyncio.sleep(0.05)
        seen = _seen(watch)
        offline = next(i for i, (t, p) in enumerate(seen) if t == TOPICS.state() and b"offline" in p)
        for token in TOKENS:
            cleared = [i for i, (t, p) in enumerate(seen) if t == TOPICS.owner(token) and not p]
            assert cleared, (token, seen)
            assert cleared[0] < offline, (token, seen)
        left = await asyncio.to_thread(retained, mosquitto_server, "store-local/v1/store-1/gw-1/owner/#")
        assert left == []
    finally:
        watch.close()
