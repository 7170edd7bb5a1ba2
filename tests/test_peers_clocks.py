"""A peer whose clock is seconds off is reported (issue 18, session 26).

Three ``edge run`` processes on the doors walk with their clocks 4 s apart step by step had 60-86 moments
per run with a shopper owned by two gateways (docs/multi-gateway.md, "One store's time for every gateway").
The protocol needs the store's clocks to agree, as NTP keeps them; a gateway now reads each peer's offset from
its summaries' arrival (slot ``k``'s goes out at ``k + 1`` on the sender's clock), reports the largest in its
health (``peers_clock_offset_ms``) and warns once per peer beyond ``CLOCK_OFF_S``.
"""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from edge.app import build_ports
from edge.clock import ManualClock
from edge.config import from_mapping
from edge.core import Core
from edge.events import EventFactory
from edge.outbox import Outbox
from edge.peers.clocks import (
    CLOCK_OFF_S,
    CLOCK_QUICK_S,
    OFFSET_MIN_SAMPLES,
    OFFSET_QUICK_SAMPLES,
    OFFSET_WINDOW,
    ClockOffsets,
)
from edge.peers.service import Peers
from edge.peers.summary import Heard, Summary, TokenHeard, encode
from edge.pipeline import Pipeline
from edge.roster import parse_roster
from edge.sim.multi import MultiStore, Walk

START = 1000.0


@asynccontextmanager
async def gateway_one(tmp_path: Path) -> AsyncIterator[tuple[Peers, ManualClock, tuple[str, ...]]]:
    """gw-1 of a simulated store of three, its peers service on a manual clock (no broker: summaries are handed to
    it), and two rostered tokens."""
    multi = MultiStore(gateways=3, seed=1, start=START)
    config = from_mapping(multi.config(0, mqtt={"url": "mqtt://127.0.0.1:1"}))
    assert config.store is not None
    tokens = tuple(Walk(i, 0.0, (), 0.0).token for i in range(2))
    clock = ManualClock(START)
    core = Core(config, EventFactory("store-1", "gw-1", random.Random(1)))
    core.set_roster(parse_roster(multi.roster(len(tokens))), clock.now())
    async with Outbox(tmp_path / "state", "urn:edge:store-1:gw-1") as outbox:
        pipeline = Pipeline(core, outbox)
        peers = Peers(build_ports(config, core, pipeline, clock, tmp_path / "state"), config.store)
        try:
            yield peers, clock, tokens
        finally:
            peers.slots.cancel()


def test_the_offset_is_the_least_lag_once_there_are_enough_summaries() -> None:
    clocks = ClockOffsets()
    for k in range(OFFSET_MIN_SAMPLES - 1):
        assert clocks.add("gw-2", k, k + 1 + 0.3) is None
    assert clocks.offset("gw-2") is None  # too few to tell a clock from a slow summary
    assert clocks.worst_ms() == -1  # none measured yet
    clocks.add("gw-2", 50, 51 + 0.05)  # one quick delivery: the clock is the least lag
    assert clocks.offset("gw-2") == pytest.approx(0.05)
    for k in range(OFFSET_MIN_SAMPLES):
        clocks.add("gw-3", k, k + 1 - 0.4)  # gw-3's clock is ahead: its summaries come "early"
    assert clocks.offset("gw-3") == pytest.approx(-0.4)
    assert clocks.worst_ms() == 400


def test_a_clock_seconds_off_is_read_from_three_summaries_a_smaller_lag_waits_for_ten() -> None:
    clocks = ClockOffsets()
    for k in range(OFFSET_QUICK_SAMPLES):
        clocks.add("gw-2", k, k + 1 + 4.02)  # 4 s behind: two gateways would own a shopper at once
        clocks.add("gw-3", k, k + 1 - 4.0)  # 4 s ahead: no delivery makes a summary early
        clocks.add("gw-4", k, k + 1 + 1.5)  # a loop stalled at start, or a clock 1.5 s behind: wait and see
    assert OFFSET_QUICK_SAMPLES < OFFSET_MIN_SAMPLES
    assert clocks.offset("gw-2") == pytest.approx(4.02)
    assert clocks.offset("gw-3") == pytest.approx(-4.0)
    assert clocks.offset("gw-4") is None
    late = ClockOffsets()
    for k in range(OFFSET_QUICK_SAMPLES - 1):
        late.add("gw-2", k, k + 1 + 8.0)
    assert late.offset("gw-2") is None  # two summaries are not a clock, however late
    settled = ClockOffsets()
    for k in range(OFFSET_MIN_SAMPLES - 1):  # the stall passes: the least lag is the clock's
        settled.add("gw-4", k, k + 1 + (CLOCK_QUICK_S + 0.5 if k < OFFSET_QUICK_SAMPLES else 0.03))
        assert settled.offset("gw-4") == (pytest.approx(CLOCK_QUICK_S + 0.5) if k == OFFSET_QUICK_SAMPLES - 1 else None)
    settled.add("gw-4", 20, 21.03)
    assert settled.offset("gw-4") == pytest.approx(0.03)


@pytest.mark.parametrize("stall_s", [2.5, 4.5, 9.0])
def test_summaries_that_queued_behind_a_stall_are_not_read_as_a_clock(stall_s: float) -> None:
    """Session 31: a loop stalled while its peers' summaries came in reads them all at once when it wakes (they are
    stamped when paho hands them over), so their lags fall by a slot from the oldest to the newest -- and the newest,
    sent in the slot before the wake, is less than a slot late: no stall reaches ``CLOCK_QUICK_S``, however long
    (session 30's note feared one of about 4 s would). A sender woken late sends only its latest complete slot
    (edge.peers.slots ``_slot_to_close``), likewise less than a slot late."""
    for woke in (0.5 + stall_s, 0.5 + stall_s + 0.47):  # stalled from 0.5 s; slot k's summary went out at k + 1
        clocks = ClockOffsets()
        queued = int(woke)  # the slots whose summaries went out before the wake: 0 .. floor(woke) - 1
        for k in range(queued):
            clocks.add("gw-2", k, woke + 0.02)
        assert clocks.offset("gw-2") is None  # the newest lag is under a slot: wait for ten
        for k in range(queued, OFFSET_MIN_SAMPLES):
            clocks.add("gw-2", k, k + 1.03)
        newest = woke + 0.02 - queued
        assert 0.0 < newest < 1.0 < CLOCK_QUICK_S
        assert clocks.offset("gw-2") == pytest.approx(min(0.03, newest))


def test_a_clock_off_is_reported_once_and_again_only_after_it_came_back() -> None:
    clocks = ClockOffsets()
    reported = [clocks.add("gw-2", k, k + 1 + 4.0) for k in range(OFFSET_MIN_SAMPLES + 5)]
    assert [r for r in reported if r is not None] == [pytest.approx(4.0)]
    assert clocks.off == {"gw-2"}
    for k in range(100, 100 + OFFSET_WINDOW):  # its time service fixed: within milliseconds again
        assert clocks.add("gw-2", k, k + 1 + 0.02) is None
    assert clocks.off == set()
    reported = [clocks.add("gw-2", k, k + 1 - CLOCK_OFF_S - 0.5) for k in range(200, 200 + OFFSET_MIN_SAMPLES)]
    assert [r for r in reported if r is not None] == [pytest.approx(-CLOCK_OFF_S - 0.5)]


async def test_a_gateway_reports_a_peer_whose_summaries_say_its_clock_is_behind(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with gateway_one(tmp_path) as (peers, clock, tokens):
        with caplog.at_level(logging.WARNING, logger="edge.peers.slots"):
            for k in range(int(START), int(START) + OFFSET_MIN_SAMPLES + 5):
                heard = (Heard("gw-2-s", 1, -70, -70.0, k + 0.5),)
                summary = Summary("gw-2", k, tuple(TokenHeard(t, "ibeacon", -59.0, heard) for t in tokens))
                clock.set(k + 1 + 4.0)  # gw-2's clock runs 4 s behind this one
                peers.slots.on_summary("gw-2", encode(summary), received=clock.now())
    health = peers.health()
    assert health["peers_clock_offset_ms"] == 4000
    assert health["peers_clock_warnings"] == 1
    warnings = [r.getMessage() for r in caplog.records if "clock looks" in r.getMessage()]
    assert warnings == [warnings[0]]
    assert "gw-2's clock looks 4.0 s behind" in warnings[0]
    assert not any(t in warnings[0] for t in tokens)  # tokens are never logged


async def test_a_peer_far_ahead_holds_no_more_than_a_minute_of_slots(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A peer whose clock runs an hour ahead (a box that booted without its time service), or one that sends slots
    far in the future: each summary's slot would wait in the arbiter until this gateway's clock reached it -- an
    hour of slots, or without bound for slots years ahead. Beyond SUMMARY_AHEAD_MAX_SLOTS the summary is counted
    (``peers_summaries_ahead``) and kept out of the arbitration; the clock is still read (and warned about), and
    what the peer heard still reaches the engine."""
    from edge.peers.timing import SUMMARY_AHEAD_MAX_SLOTS

    delivered: list[object] = []
    count = OFFSET_MIN_SAMPLES + 40

    async def deliver(sightings: object) -> None:
        delivered.append(sightings)

    async with gateway_one(tmp_path) as (peers, clock, tokens):
        peers.slots.deliver = deliver
        with caplog.at_level(logging.WARNING, logger="edge.peers.slots"):
            for step in range(count):
                k = int(START) + step + 3600  # gw-2's clock runs an hour ahead of this one
                heard = (Heard("gw-2-s", 1, -70, -70.0, k + 0.5),)
                summary = Summary("gw-2", k, tuple(TokenHeard(t, "ibeacon", -59.0, heard) for t in tokens))
                clock.set(START + step + 1.0)
                peers.slots.on_summary("gw-2", encode(summary), received=clock.now())
            assert peers.health()["peers_clock_offset_ms"] == 3600000
            for step in range(100):  # and one far in the future each
                summary = Summary("gw-2", 2**39 + step, ())
                peers.slots.on_summary("gw-2", encode(summary), received=clock.now())
            await peers.slots.delivered()
    health = peers.health()
    assert health["peers_summaries_ahead"] == count + 100
    assert health["peers_clock_warnings"] == 1
    assert not any(peers.slots.arbiter.has(s, "gw-2") for s in range(int(START), int(START) + 3600 + count + 1))
    assert len(delivered) == count  # what it heard, for the engine
    assert SUMMARY_AHEAD_MAX_SLOTS < 3600
