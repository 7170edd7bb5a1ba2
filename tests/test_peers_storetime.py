"""The store's gateways move their slot clocks to the median of their clocks (issue 18, session 29).

Session 26 measured what clocks seconds apart do to the protocol (three gateways 4 s apart step by step: 60-86
moments a run with a shopper owned by two gateways); a gateway only reported it. Now each gateway moves its slot
clock -- never its adverts' or events' stamps -- to the median of its own clock and its live peers', read from
their summaries' arrival, by a slew that never goes back nor skips a slot (edge/peers/storetime.py). Here: stores
of two to five gateways, their clocks apart, exchange summaries over a simulated network with a delivery delay;
then a real peers service with a peer 4 s behind.
"""

from __future__ import annotations

import asyncio
import math
import random
import statistics
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from edge.clock import ManualClock
from edge.peers.clocks import CLOCK_QUICK_S, OFFSET_MIN_SAMPLES, OFFSET_QUICK_SAMPLES, ClockOffsets
from edge.peers.storetime import AGREE_MAX_S, AGREE_MIN_S, SLEW_RATE, StoreTime
from edge.peers.summary import Heard, Summary, TokenHeard, encode
from edge.presence import Sighting, Sightings
from tests.test_peers_clocks import START, gateway_one

STEP_S = 0.05
"""The simulated store's time step (s of real time)."""


class OffClock:
    """A box's own clock: the store's real time plus how far off it is."""

    def __init__(self, real: ManualClock, off: float) -> None:
        self.real = real
        self.off = off

    def now(self) -> float:
        return self.real.now() + self.off


@dataclass
class Box:
    name: str
    time: StoreTime
    offsets: ClockOffsets = field(default_factory=ClockOffsets)
    sent: int | None = None
    slots: list[int] = field(default_factory=list)
    readings: list[float] = field(default_factory=list)


def run_store(offs: list[float], seconds: float, delay_s: float = 0.02, seed: int = 1) -> list[Box]:
    """Boxes with their clocks ``offs`` apart, each sending slot k's summary when its slot clock reaches k + 1,
    delivered ``delay_s`` (plus up to 30 ms of jitter) later; each reads its peers' clocks and moves."""
    rng = random.Random(seed)
    real = ManualClock(START)
    boxes = [Box(f"gw-{i + 1}", StoreTime(OffClock(real, off))) for i, off in enumerate(offs)]
    in_flight: list[tuple[float, Box, str, int, float]] = []
    for _ in range(round(seconds / STEP_S)):
        real.advance(STEP_S)
        for box in boxes:
            now = box.time.now()
            box.readings.append(now)
            slot = math.floor(now) - 1
            if box.sent is None or slot > box.sent:
                box.sent = slot
                box.slots.append(slot)
                for other in boxes:
                    if other is not box:
                        arrives = real.now() + delay_s + rng.uniform(0, 0.03)
                        in_flight.append((arrives, other, box.name, slot, box.time.moved()))  # its summary's moved
        for item in [m for m in in_flight if m[0] <= real.now()]:
            in_flight.remove(item)
            _, to, sender, slot, moved = item
            to.offsets.add(sender, slot, to.time.now(), moved, to.time.moved())
            peers = {b.name for b in boxes if b is not to}
            to.time.consider({p: to.offsets.offset(p) for p in peers}, peers)
    return boxes


def spread(boxes: list[Box]) -> float:
    nows = [b.time.now() for b in boxes]
    return max(nows) - min(nows)


@pytest.mark.parametrize(
    "offs",
    [[0.0, -4.0, -8.0], [0.0, 2.0, 4.0], [0.0, -3.0], [5.0, 0.0, 0.0, -1.5, 7.0], [0.0, 0.0, 20.0], [0.0, -0.7, 0.9]],
)
def test_the_slot_clocks_meet_at_the_median_and_never_go_back_nor_skip(offs: list[float]) -> None:
    boxes = run_store(offs, seconds=150.0)
    assert all(b.time.moves <= 1 for b in boxes)  # the median stays put while they move to it
    assert spread(boxes) < AGREE_MIN_S + 0.1  # the delivery's tens of ms are under the least move
    median = statistics.median(offs)
    for box in boxes:
        assert isinstance(box.time.clock, OffClock)
        assert box.time.correction + box.time.clock.off == pytest.approx(median, abs=0.6)
        assert all(b > a for a, b in zip(box.readings, box.readings[1:], strict=False))  # never back
        assert box.slots == list(range(box.slots[0], box.slots[0] + len(box.slots)))  # each slot once, in order


def test_clocks_seconds_apart_start_moving_after_three_summaries_and_meet_in_twenty_seconds() -> None:
    """Session 30: a clock :data:`CLOCK_QUICK_S` or more off is read from :data:`OFFSET_QUICK_SAMPLES` summaries
    (before, :data:`OFFSET_MIN_SAMPLES`: the row walk's two-owner moments came while the clocks were read)."""
    early = OFFSET_QUICK_SAMPLES + 1.0  # s: its summaries, and their delivery
    boxes = run_store([0.0, -4.0, -8.0], seconds=early)
    assert [b.time.moves for b in boxes] == [1, 0, 1]  # gw-2's clock is the median
    met = run_store([0.0, -4.0, -8.0], seconds=early + 4.0 / SLEW_RATE)
    assert spread(met) < AGREE_MIN_S
    slight = run_store([0.0, -(CLOCK_QUICK_S - 0.5), -2 * (CLOCK_QUICK_S - 0.5)], seconds=OFFSET_MIN_SAMPLES - 2.0)
    assert [b.time.moves for b in slight] == [0, 0, 0]  # 1.5 s apart: a slow delivery could pass for it; wait
    settled = run_store([0.0, -(CLOCK_QUICK_S - 0.5), -2 * (CLOCK_QUICK_S - 0.5)], seconds=OFFSET_MIN_SAMPLES + 2.0)
    assert [b.time.moves for b in settled] == [1, 0, 1]


def test_clocks_that_agree_are_not_moved() -> None:
    boxes = run_store([0.0, 0.1, -0.2], seconds=90.0, delay_s=0.2)
    assert all(b.time.moves == 0 and b.time.correction == 0.0 for b in boxes)


def test_one_clock_far_off_is_outvoted_and_one_beyond_the_bound_is_not_followed() -> None:
    boxes = run_store([0.0, 0.0, 30.0], seconds=200.0)
    assert [b.time.moves for b in boxes] == [0, 0, 1]  # only the odd one moves
    assert boxes[2].time.correction == pytest.approx(-30.0, abs=0.1)
    far = run_store([0.0, AGREE_MAX_S + 30.0], seconds=40.0)
    assert [b.time.moves for b in far] == [0, 0]  # two boxes a minute and a half apart: reported, not followed


def test_a_move_is_a_slew_at_the_rate() -> None:
    own = ManualClock(START)
    time = StoreTime(own)
    assert time.consider({"gw-2": 4.0}, {"gw-2"}) == pytest.approx(-2.0)  # two boxes: half way
    assert time.moving
    assert time.speed == pytest.approx(1.0 - SLEW_RATE)
    assert time.consider({"gw-2": 4.0}, {"gw-2"}) is None  # one move at a time
    own.advance(4.0)
    assert time.now() == pytest.approx(START + 4.0 - 4.0 * SLEW_RATE)
    own.advance(4.0)
    assert not time.moving
    assert time.speed == 1.0
    assert time.now() == pytest.approx(START + 8.0 - 2.0)
    assert time.to_own(time.now()) == pytest.approx(own.now())
    assert time.to_store(own.now()) == pytest.approx(time.now())
    assert time.consider({"gw-2": None}, {"gw-2"}) is None  # a live peer's clock not read yet: no move
    assert time.consider({}, set()) is None  # alone


async def test_a_peer_four_seconds_behind_moves_the_slot_clock_and_its_sightings_reach_the_engine_on_its_own(
    tmp_path: Path,
) -> None:
    """A real peers service (gw-1) and gw-2 4 s behind it: gw-1 moves its slot clock 2 s back (half way), says so
    in its health, and stamps gw-2's sightings on its own clock (the slot clock less the correction)."""
    delivered: list[object] = []

    async def deliver(sightings: object) -> None:
        delivered.append(sightings)

    async with gateway_one(tmp_path) as (peers, clock, tokens):
        peers.slots.deliver = deliver
        peers.connection.alive.add("gw-2")
        k = int(START)
        for _ in range(OFFSET_MIN_SAMPLES + 60):  # read, moved, and on
            k += 1
            heard = (Heard("gw-2-s", 1, -70, -70.0, k + 0.5),)
            summary = Summary("gw-2", k, tuple(TokenHeard(t, "ibeacon", -59.0, heard) for t in tokens))
            clock.set(k + 1 + 4.0)  # gw-2's clock runs 4 s behind gw-1's own
            peers.slots.on_summary("gw-2", encode(summary), received=peers.time.now())
            await peers.slots.delivered()
        await asyncio.gather(*peers.slots._deliveries)  # the last ones too
        closed = peers.slot.close(k, (), None, peers.time.moved())
    health = peers.health()
    assert health["peers_clock_moves"] == 1  # gw-2 says it did not move (no ``moved``): the median stays 2 s back
    assert health["peers_clock_correction_ms"] == -2000
    assert health["peers_clock_offset_ms"] == 4000  # the boxes' own clocks still disagree: reported as before
    assert not peers.time.moving
    assert closed.moved == pytest.approx(-2.0)  # its summaries say how far its slot clock was moved
    own = clock.now()
    peers.sighted(Sighting(tokens[0], "ibeacon", "gw-1-s", -60, -59.0, own))  # one of its own adverts
    summary = peers.slot.close(math.floor(own))
    assert summary.tokens[0].heard[0].last == pytest.approx(own - 2.0)  # in its summary: on the slot clock
    last = delivered[-1]
    assert isinstance(last, Sightings)
    at = last.items[-1].at
    assert at == pytest.approx(k + 0.5 + 2.0)  # gw-2's stamp on the slot clock, put on gw-1's own clock


def test_a_summary_moved_beyond_a_day_is_refused() -> None:
    """``moved`` is a peer's word on its own slot clock: bounded like every number a peer sends."""
    from edge.peers.summary import MOVED_MAX_S, PeerSummaryError, decode

    good = decode(b'{"gateway": "gw-2", "slot": 5, "tokens": [], "moved": -4.0}', peer="gw-2")
    assert good.moved == -4.0
    assert decode(b'{"gateway": "gw-2", "slot": 5, "tokens": []}', peer="gw-2").moved is None  # an older gateway
    with pytest.raises(PeerSummaryError, match="moved"):
        decode(b'{"gateway": "gw-2", "slot": 5, "tokens": [], "moved": %d}' % (MOVED_MAX_S * 2), peer="gw-2")
