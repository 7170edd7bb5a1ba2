"""The silence rule's per-sighting shortcuts (issue #16, sixth pass) give the same floats as before.

``SilenceRate.settle`` counts the times the engine appended to ``pending`` in one loop; it must leave
every field exactly as calling the eager ``heard`` on each time did (the code before the shortcut is
kept here as the reference). ``DeliveryLag.punctual`` lets the engine skip ``saw`` for a scanner never
late; skipping must change nothing ``saw`` would have.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge import presence
from edge import presence_timing as pt
from edge.advert_rate import AdvertRate
from edge.config import from_mapping
from edge.presence import PresenceEngine, Sighting

T0 = 1_790_000_000.0


class EagerRate(AdvertRate):
    """SilenceRate as it was before the sixth pass: both mean gaps updated on every sighting."""

    __slots__ = ("slow_gap_s",)

    def __init__(self, at: float) -> None:
        super().__init__(at)
        self.slow_gap_s = self.mean_gap_s

    def heard(self, at: float) -> None:
        before, counted = self.last_at, self.samples
        AdvertRate.heard(self, at)
        if self.samples != counted:
            weight = max(1.0 / self.samples, pt.SLOW_GAP_WEIGHT)
            self.slow_gap_s += weight * (at - before - self.slow_gap_s)


def fields(rate: AdvertRate) -> tuple[float, ...]:
    slow = rate.slow_gap_s if isinstance(rate, (EagerRate, pt.SilenceRate)) else 0.0
    return (rate.last_at, rate.interval_s, rate.mean_gap_s, slow, float(rate.samples))


# gaps an advertiser's sightings have: repeats of one advert (< 30 ms), its interval, losses, a
# trip away (> MODEL_GAP_MAX_S), and a peer's sample arriving older than the last one (< 0)
gaps = st.one_of(
    st.floats(0.0, 0.03),
    st.floats(0.02, 2.0),
    st.floats(2.0, 40.0),
    st.floats(-1.5, 0.0),
)


@given(st.lists(st.tuples(gaps, st.integers(0, 40)), max_size=400))
def test_settling_pending_times_gives_the_eager_floats(steps: list[tuple[float, int]]) -> None:
    eager, lazy = EagerRate(T0), pt.SilenceRate(T0)
    at = T0
    for gap, settle_when in steps:
        at += gap
        eager.heard(at)
        lazy.pending.append(at)
        if settle_when == 0 or len(lazy.pending) >= pt.PENDING_MAX:  # read now and then, as the engine does
            lazy.settle()
            assert fields(lazy) == fields(eager)
    lazy.settle()
    assert lazy.pending == []
    assert fields(lazy) == fields(eager)
    assert pt.silence_limit_s(lazy) == _limit(eager)


@given(st.lists(gaps, max_size=100), st.lists(gaps, max_size=100))
def test_heard_after_pending_times_counts_them_first(before: list[float], after: list[float]) -> None:
    eager, lazy = EagerRate(T0), pt.SilenceRate(T0)
    at = T0
    for gap in before:
        at += gap
        eager.heard(at)
        lazy.pending.append(at)
    for gap in after:
        at += gap
        eager.heard(at)
        lazy.heard(at)
        assert lazy.pending == []
        assert fields(lazy) == fields(eager)
    lazy.settle()
    assert fields(lazy) == fields(eager)


def _limit(rate: EagerRate) -> float | None:
    """silence_limit_s on the eager reference (a SilenceRate with its fields)."""
    twin = pt.SilenceRate(T0)
    twin.last_at, twin.interval_s, twin.mean_gap_s = rate.last_at, rate.interval_s, rate.mean_gap_s
    twin.slow_gap_s, twin.samples = rate.slow_gap_s, rate.samples
    return pt.silence_limit_s(twin)


@given(st.lists(st.tuples(st.sampled_from(["own", "peer", "other", "tick"]), st.floats(-2.0, 1.0)), max_size=200))
def test_skipping_saw_for_a_punctual_scanner_changes_nothing(steps: list[tuple[str, float]]) -> None:
    always, engine = pt.DeliveryLag(), pt.DeliveryLag()
    at = T0
    for scanner, step in steps:
        at += step
        if scanner == "tick":
            always.ticked(at + 0.5)
            engine.ticked(at + 0.5)
            continue
        always.saw(scanner, at)
        if at >= engine.newest and scanner in engine.punctual:  # as PresenceEngine.observe does
            engine.newest = at
        else:
            engine.saw(scanner, at)
        assert engine.newest == always.newest
        for name in ("own", "peer", "other"):
            assert engine.of(name) == always.of(name)


def _comings_and_goings(seed: int) -> list[str]:
    """A shopper at a zone whose timer is long (12 s), its phone going quiet for 1-12 s now and then
    (so the silence limit decides exits), through the engine; every event as repr."""
    config = from_mapping({"zones": [{"id": "baby", "scanners": ["gw-1"], "exit_timeout_s": 12.0}]})
    eng = PresenceEngine(config.zones, config.presence)
    rng = random.Random(seed)
    events: list[str] = []
    t = next_advert = T0
    quiet_until = T0
    interval_s = rng.choice([0.1, 0.3, 1.0])
    while t < T0 + 600:
        while next_advert <= t:
            if next_advert >= quiet_until and rng.random() >= 0.2:
                events += map(repr, eng.observe(Sighting("s-1", "ibeacon", "gw-1", -55, -59.0, next_advert)))
            if rng.random() < 0.005:
                quiet_until = next_advert + rng.uniform(1.0, 12.0)
            next_advert += interval_s
        t += 0.25
        events += map(repr, eng.tick(t))
    return events


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_engine_counting_lazily_emits_what_counting_each_time_did(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    lazy = _comings_and_goings(seed)
    monkeypatch.setattr(presence, "PENDING_MAX", 1)  # settled after every append: the eager order
    eager = _comings_and_goings(seed)
    assert lazy == eager
    exits = [e for e in lazy if "kind='exited'" in e]
    assert len(exits) >= 1  # a silence ended a visit: the limit was read and decided (the phone's pauses,
    # once heard, hold later silences as long: edge.presence_timing.hold_s, so fewer than before end one)
