"""A gateway whose slot loop wakes late still speaks for its shoppers (issue 18, "Ownership under load").

At 8 gateways beside a busy loop, a process's slot loop woke a second or more late up to 61 times a run; it
then closed only the slot that had ended at the boundary it slept for (past its peers' deadline from a
2.5 s late wake on) and went on from the next boundary, so the slots in between never got a summary and
its peers saw it silent. Now a late wake closes the latest complete slot (``floor(now) - 1``), whose
summary its peers can still use, and counts the slots skipped (``peers_slots_skipped``); every slot goes
out once, in order.

gw-1 of a three-gateway store on a real mosquitto: its real core, pipeline, SQLite outbox, peers connection
and slot loop, on a clock that runs with real time and that the test moves 2.4 s on while the loop sleeps
(a process starved for that long); an idle subscriber reads gw-1's summaries off the broker.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
from pathlib import Path
from typing import Any

from edge.app import build_ports
from edge.config import from_mapping
from edge.core import Core
from edge.events import EventFactory
from edge.outbox import Outbox
from edge.peers.service import Peers
from edge.peers.topics import PeerTopics
from edge.pipeline import Pipeline
from edge.presence import Sighting
from edge.roster import parse_roster
from edge.sim.multi import MultiStore
from tests.mosquitto import Collector, Mosquitto
from tests.peers_replay import START, TOKEN, until
from tests.test_peers_pipeline import stop

JUMP_S = 2.4
"""How long the process is starved while its loop sleeps: it wakes 2.3 slots past the boundary it slept for."""
WAIT_S = 10.0


class StarvedClock:
    """Real time from ``start``, plus the jumps the test makes (the time a starved process did not see pass)."""

    def __init__(self, start: float) -> None:
        self._start = start
        self._t0 = time.monotonic()
        self.jumped = 0.0

    def now(self) -> float:
        return self._start + time.monotonic() - self._t0 + self.jumped


async def _gw1(
    server: Mosquitto, tmp_path: Path, clock: StarvedClock, shoppers: int = 3
) -> tuple[Peers, Outbox, Collector]:
    """gw-1 of a three-gateway store on ``server`` (its real core, pipeline, outbox and peers service on
    ``clock``; ``shoppers`` rostered), and an idle subscriber to its summaries (tests/test_peers_rounds.py too)."""
    multi = MultiStore(gateways=3, seed=1, start=START)
    config = from_mapping(multi.config(0, mqtt={"url": server.url, "reconnect_initial_s": 0.05}))
    assert config.store is not None
    watch = Collector(server, (PeerTopics(config.store.topic_prefix, "store-1", "gw-1").sightings(),))
    core = Core(config, EventFactory("store-1", "gw-1", random.Random(1)))
    core.set_roster(parse_roster(multi.roster(shoppers)), START)
    outbox = Outbox(tmp_path / "state", "urn:edge:store-1:gw-1")
    await outbox.__aenter__()
    peers = Peers(build_ports(config, core, Pipeline(core, outbox), clock, tmp_path / "state"), config.store)
    return peers, outbox, watch


def _whole(messages: list[Any]) -> list[dict[str, Any]]:
    """The summaries among ``messages`` (not the early parts), decoded, in the order received."""
    return [json.loads(bytes(m.payload)) for m in messages if b'"early":true' not in bytes(m.payload)]


async def test_a_loop_that_wakes_late_publishes_the_latest_complete_slot(
    mosquitto_server: Mosquitto, tmp_path: Path
) -> None:
    clock = StarvedClock(START + 0.9)
    peers, outbox, watch = await _gw1(mosquitto_server, tmp_path, clock)
    tasks = [asyncio.create_task(peers._connection_loop())]
    try:
        await until(peers.connected.is_set, "gw-1 on the store broker")
        if clock.now() % 1.0 > 0.3:  # start in a slot's first part, before its early summary
            await asyncio.sleep(1.05 - clock.now() % 1.0)
        slept = math.floor(clock.now())  # the slot the loop sleeps through
        peers.slots.slot.add(Sighting(TOKEN, "ibeacon", "s-1a", -60, -59.0, clock.now()))
        tasks.append(asyncio.create_task(peers.slots.run()))
        await asyncio.to_thread(watch.wait_for, lambda ms: bool(ms), WAIT_S)  # its early part, on time
        assert peers.stats["peers_slots_woke_late"] == 0
        clock.jumped = JUMP_S  # starved: the loop wakes JUMP_S after the boundary it sleeps for
        woke = slept + 1 + JUMP_S
        await asyncio.to_thread(watch.wait_for, lambda ms: len(_whole(ms)) >= 2, WAIT_S)
    finally:
        await stop(tasks, peers, outbox)
        watch.close()
    whole = _whole(watch.messages)
    latest = math.floor(woke) - 1
    assert latest == slept + 2
    # The first summary: the latest complete slot, with what its scanners heard (was: the slot slept through).
    assert whole[0]["slot"] == latest
    assert TOKEN in json.dumps(whole[0])
    assert whole[0]["part_of"] == slept  # its early part's samples are in it: peers deliver them once
    # Then on time again, once each, in order.
    assert whole[1]["slot"] == latest + 1
    assert peers.stats["peers_slots_woke_late"] == 1
    assert peers.stats["peers_slots_skipped"] == 2  # the slot slept through and the one after it


async def test_a_round_that_runs_past_a_slots_end_speaks_at_once(mosquitto_server: Mosquitto, tmp_path: Path) -> None:
    """The round after a summary (its evaluation applies the changes, each gain awaiting the writer's commit of
    its ``entered``: 8 s at a joining gateway beside a busy loop) takes 3 s: the next summary is the latest
    complete slot at once, the 2 slots in between counted (the old loop slept to the next boundary first and
    counted nothing)."""
    clock = StarvedClock(START + 0.9)
    peers, outbox, watch = await _gw1(mosquitto_server, tmp_path, clock)
    refresh = peers.slots.refresh
    rounds: list[float] = []

    def slow_round(now: float) -> None:
        refresh(now)
        if not rounds:
            clock.jumped = 3.0  # the first round's evaluation took 3 s
        rounds.append(now)

    peers.slots.refresh = slow_round
    tasks = [asyncio.create_task(peers._connection_loop())]
    try:
        await until(peers.connected.is_set, "gw-1 on the store broker")
        tasks.append(asyncio.create_task(peers.slots.run()))
        await asyncio.to_thread(watch.wait_for, lambda ms: len(_whole(ms)) >= 2, WAIT_S)
    finally:
        await stop(tasks, peers, outbox)
        watch.close()
    whole = _whole(watch.messages)
    first = whole[0]["slot"]
    assert whole[1]["slot"] == first + 3  # at once: the round ended 3 s on, in slot first + 4
    assert peers.stats["peers_slots_skipped"] == 2
    assert peers.stats["peers_slots_woke_late"] == 0  # no sleep woke late
