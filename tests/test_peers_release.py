"""A gateway the arbitration moved a shopper away from clears its claim -- the next owner's cue to
speak -- only once its own words about the shopper are out (issue 18: the two-owner race).

The race, reproduced in three-gateway runs under load (docs/multi-gateway.md): the previous owner's
``entered`` passed its filter, the arbitration moved the shopper ~30 ms later, the clear went out at
once while the event was still in the previous owner's outbox, and the next owner's first word
reached the CDP before it. Here it is played deterministically, on one gateway's real core, pipeline
and outbox (a SQLite file) with a manual clock; only the store broker's connection is a recorder.
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Any

import pytest

from edge import events as ev
from edge.app import build_ports
from edge.clock import ManualClock
from edge.config import from_mapping
from edge.core import Core
from edge.events import EventFactory
from edge.outbox import Outbox
from edge.peers.messages import Claim
from edge.peers.service import Peers
from edge.peers.timing import RELEASE_FLUSH_S, RELEASE_POLL_S
from edge.pipeline import Pipeline
from edge.sim.multi import MultiStore
from edge.tasks import cancel_and_wait

TOKEN = "shopper-0001"
WAIT_S = 10.0
"""Bound on each wait for the service (milliseconds when idle)."""


class _Client:
    """Stands for the paho client of the store broker's connection: records what is published."""

    def __init__(self) -> None:
        self.published: list[tuple[str, bytes]] = []

    def publish(self, topic: str, payload: bytes, **_kwargs: Any) -> Any:
        self.published.append((topic, payload))


class _Link:
    def __init__(self) -> None:
        self.client = _Client()


async def _until(predicate: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {WAIT_S} s")
        await asyncio.sleep(RELEASE_POLL_S)


class _Store:
    """gw-1 of a two-gateway store owning :data:`TOKEN`, which it placed in z1."""

    def __init__(self, tmp_path: Path) -> None:
        store = MultiStore(gateways=2, seed=1, start=1000.0)
        config = from_mapping(store.config(0, mqtt={"url": "mqtt://127.0.0.1:1"}))  # never connected here
        self.clock = ManualClock(1000.0)
        self.core = Core(config, EventFactory("store-1", "gw-1", random.Random(1)))
        self.outbox = Outbox(tmp_path, "urn:edge:store-1:gw-1")
        self.tmp_path = tmp_path
        self.config = config

    async def __aenter__(self) -> _Store:
        await self.outbox.__aenter__()
        self.pipeline = Pipeline(self.core, self.outbox)
        ports = build_ports(self.config, self.core, self.pipeline, self.clock, self.tmp_path)
        assert self.config.store is not None
        peers = Peers(ports, self.config.store)
        self.link = _Link()
        peers.link = self.link  # type: ignore[assignment]
        peers.connected.set()
        peers.alive.add("gw-2")
        assert peers.arbiter.adopt(TOKEN, "gw-1", 1, 0) is not None
        peers.claims.claim(Claim(TOKEN, "gw-1", 1, "z1"))
        self.task = asyncio.create_task(peers.releases.run())
        self.peers = peers
        return self

    async def __aexit__(self, *exc: object) -> None:
        await cancel_and_wait(self.task)
        await self.outbox.__aexit__(None, None, None)

    async def said(self) -> int:
        """gw-1's last word about the shopper passed its filter and is committed, not yet sent: its seq."""
        event = self.core.factory.make(
            ev.PRESENCE_ENTERED, self.clock.now(), "z2", {"token": TOKEN, "zone": "z2"}, token=TOKEN
        )
        await self.pipeline.publish([event])
        rows = await self.outbox.claim(0, 10)
        return rows[-1].seq

    async def moved_to_gw2(self) -> None:
        change = self.peers.arbiter.adopt(TOKEN, "gw-2", 2, 0)
        assert change is not None
        await self.peers._apply(change, self.clock.now())

    def clears(self) -> int:
        topic = self.peers.topics.owner(TOKEN)
        return sum(1 for t, payload in self.link.client.published if t == topic and payload == b"")


async def test_the_clear_waits_until_the_old_owners_last_word_is_sent(tmp_path: Path) -> None:
    async with _Store(tmp_path) as store:
        peers = store.peers
        seq = await store.said()
        await store.moved_to_gw2()
        assert not peers.owns(TOKEN, "ibeacon")  # silent for the shopper from the decision on
        await _until(lambda: peers.releases.pending[TOKEN].committed, "the writer's barrier")
        # The event is in the outbox, unsent: however long the release looks, no clear goes out (the
        # old code cleared here, and the next owner spoke before this event reached the CDP).
        for _ in range(5):
            await asyncio.sleep(RELEASE_POLL_S)
            assert store.clears() == 0
        await store.outbox.mark_sent([seq])  # its PUBACK
        await _until(lambda: store.clears() == 1, "the clear")
        assert TOKEN not in peers.releases
        assert peers.health()["peers_releases_unflushed"] == 0


async def test_an_uplink_that_does_not_send_delays_the_clear_by_the_bound_only(tmp_path: Path) -> None:
    async with _Store(tmp_path) as store:
        await store.said()
        await store.moved_to_gw2()
        await _until(lambda: store.peers.releases.pending[TOKEN].committed, "the writer's barrier")
        assert store.clears() == 0
        store.clock.advance(RELEASE_FLUSH_S)
        await _until(lambda: store.clears() == 1, "the clear after the bound")
        assert store.peers.health()["peers_releases_unflushed"] == 1


async def test_a_shopper_given_back_before_the_clear_keeps_its_new_claim(tmp_path: Path) -> None:
    async with _Store(tmp_path) as store:
        peers = store.peers
        seq = await store.said()
        await store.moved_to_gw2()
        back = peers.arbiter.adopt(TOKEN, "gw-1", 3, 0)
        assert back is not None
        await peers._apply(back, store.clock.now())  # nobody else spoke: gw-1 takes it again at once
        assert TOKEN in peers.claims.mine
        assert TOKEN not in peers.releases
        await store.outbox.mark_sent([seq])
        for _ in range(5):
            await asyncio.sleep(RELEASE_POLL_S)
        assert store.clears() == 0  # the old release did not clear the new claim
        assert peers.owns(TOKEN, "ibeacon")


@pytest.mark.parametrize("stopped", [False, True], ids=["withdrawn", "stopped"])
async def test_a_withdrawal_clears_at_once_even_while_releasing(tmp_path: Path, stopped: bool) -> None:
    async with _Store(tmp_path) as store:
        await store.said()
        await store.moved_to_gw2()
        if stopped:
            store.peers.claims.clear(TOKEN)  # what a clean stop does for every claim
        else:
            withdrawn = store.core.withdrawn_event(TOKEN, 0, store.clock.now())
            store.peers._on_event(withdrawn)
        assert store.clears() == 1  # no wait for the outbox: the token must leave the broker
        assert TOKEN not in store.peers.releases
