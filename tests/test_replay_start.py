"""``ble.start_at``: the gateways of a simulated store play one store's time (issue 18).

Each ``edge run`` process used to start its replay clock when it opened its trace, so gateways that
came up seconds apart on a loaded machine played the store seconds apart -- a harness skew no real
store has (its boxes share the wall clock), and more than the peers' slot deadline. Given the same
``start_at``, every process plays the moment the wall clock says, and one that came up late skips what
had played, as a box misses what happened before it booted.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from edge.beacons.advert import Advertisement
from edge.beacons.backends import open_source
from edge.beacons.replay import ItemsSource, ReplaySource
from edge.beacons.source import Feed
from edge.clock import ManualClock
from edge.config import load
from edge.inputs import Downlink, Item
from edge.outbox import OUTBOX_FILE
from edge.sim.store import SimulatedStore
from edge.timefmt import parse_start
from edge.trace import TraceReader, header_line
from tests.helpers import card_advert

START = 1_800_000_000.0
SPEED = 100.0
"""Trace seconds per real second: a 20 s trace plays in 0.2 s."""


def _adverts(n: int) -> list[Advertisement]:
    return [card_advert(START + i) for i in range(n)]


async def _play(source: ItemsSource) -> list[float]:
    got: list[float] = []
    counters = source.counters
    feed = Feed(nudge=lambda: None, wake=lambda: None, counters=counters, limit=1000)
    async with source:
        await asyncio.wait_for(source.pump(feed), timeout=10.0)
    got.extend(item.at - START for item in feed.take())
    return got


def test_a_process_up_after_the_shared_start_skips_what_played_and_counts_it() -> None:
    """...but not the CDP's messages (a roster at the trace's start): the broker keeps those for it."""
    wall = ManualClock(100.0)
    roster = Downlink(START + 0.5, "cdp/v1/store-1/roster", b"{}")
    items: list[Item] = [*_adverts(1), roster, *_adverts(20)[1:]]
    source = ItemsSource(iter(items), start=START, speed=SPEED, start_at=100.0 - 0.1, wall=wall)
    played = asyncio.run(_play(source))
    assert played == [0.5] + [float(i) for i in range(10, 20)]  # 0.1 real s late at 100x: 10 trace s gone
    assert source.counters.skipped == 10
    assert source.counters.adverts == 10


def test_a_process_up_before_the_shared_start_waits_for_it_and_misses_nothing() -> None:
    wall = ManualClock(100.0)
    source = ItemsSource(iter(_adverts(5)), start=START, speed=SPEED, start_at=100.0 + 0.05, wall=wall)

    async def opened() -> float:
        async with source:
            return source.clock.now()

    assert asyncio.run(opened()) < START  # the trace's start is still ahead
    again = ItemsSource(iter(_adverts(5)), start=START, speed=SPEED, start_at=100.0 + 0.05, wall=wall)
    assert asyncio.run(_play(again)) == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert again.counters.skipped == 0


def test_two_processes_opened_apart_on_one_shared_start_read_the_same_moment() -> None:
    """Opened 0.5 s apart: without ``start_at`` their clocks are 0.5 s apart, with it they agree."""

    async def two(start_at: float | None) -> float:
        first = ItemsSource(iter(()), start=START, speed=1.0, start_at=start_at)
        second = ItemsSource(iter(()), start=START, speed=1.0, start_at=start_at)
        async with first:
            await asyncio.sleep(0.5)
            async with second:
                return first.clock.now() - second.clock.now()

    assert asyncio.run(two(None)) > 0.4
    assert abs(asyncio.run(two(time.time()))) < 0.1


def test_the_config_key_reaches_the_replay_source(tmp_path: Path) -> None:
    trace = tmp_path / "t.jsonl"
    trace.write_bytes(header_line(START))
    config = tmp_path / "edge.toml"
    at = time.time() + 1000.0
    config.write_text(
        f'[ble]\nbackend = "replay"\ntrace = "t.jsonl"\nstart_at = {at}\n\n[[zones]]\nid = "a"\nscanners = ["gw-1"]\n'
    )

    async def opened(fast: bool) -> tuple[float | None, float]:
        source = open_source(load(config), fast=fast)
        assert isinstance(source, ReplaySource)
        async with source:
            return source.start_at, source.clock.now()

    start_at, now = asyncio.run(opened(fast=False))
    assert start_at == at
    assert abs(now - (START - 1000.0)) < 10.0  # the trace starts in 1000 s of the wall clock
    assert asyncio.run(opened(fast=True))[1] == START  # edge replay: as fast as it can, from the start


def test_edge_run_started_late_skips_what_played_and_says_so_in_its_health(tmp_path: Path) -> None:
    """A real ``edge run`` whose shared start was 2 s ago at 20x: the trace's first ~40 s are gone (no
    event stamped before them), counted as ``source_skipped`` in its health, and the rest plays."""
    store = SimulatedStore(seed=5)
    trace = tmp_path / "store.jsonl"
    store.write_trace(trace, 120)
    zones = "\n".join(
        f'[[zones]]\nid = "{z.id}"\nscanners = {list(z.scanners)!r}\ntags = {list(z.tags)!r}\n'.replace("'", '"')
        for z in store.config.zones
    )
    config = tmp_path / "edge.toml"
    late_s = 2.0
    config.write_text(
        '[gateway]\nstore = "store-1"\ngateway = "gw-1"\nstate_dir = "state"\n\n[presence]\nhealth_interval_s = 1.0\n\n'
        f'[ble]\nbackend = "replay"\ntrace = "store.jsonl"\nspeed = 20.0\nstart_at = {time.time() - late_s}\n\n{zones}'
    )
    done = subprocess.run(
        [sys.executable, "-m", "edge", "run", "--config", str(config)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "trace items" in done.stderr  # the log line: "the shared start was ... skipped N trace items"
    db = sqlite3.connect(tmp_path / "state" / OUTBOX_FILE)
    try:
        rows = [(t, json.loads(body)) for t, body in db.execute("SELECT type, body FROM outbox ORDER BY seq")]
    finally:
        db.close()
    health = [body["data"] for t, body in rows if t == "edge.gateway.health"]
    assert health
    assert health[-1]["source_skipped"] > 0
    reader = TraceReader.open(trace)
    start = reader.read_header()
    reader.close()
    presence = [parse_start(body["time"]) - start for t, body in rows if t.startswith("edge.presence.")]
    assert presence, "nothing played after the skipped part"
    assert min(presence) >= late_s * 20.0 - 1.0  # the process took longer than the 2 s to come up: later still
