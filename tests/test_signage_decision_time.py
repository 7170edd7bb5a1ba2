"""An impression never starts before the event that decided it, at any replay speed.

A replay hands the core its items up to ``PACE_S x speed`` trace seconds before the source's clock
reaches them (edge.beacons.replay), so the core's events (``edge.presence.entered`` at the item's
time) run ahead of the clock the player's frames were converted with: the example's nappies
impression started 0.3-0.5 s before the entry that caused it at ``--speed 4``. The play is now
moved, whole, to start no earlier than its decision (edge.signage.measure.decision_time).

The example's own files (examples/store.toml, trace.jsonl, offers, rules, roster) through the real
gateway, its replay source and the headless player (SDL's dummy driver), real SQLite files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from edge.clock import ManualClock
from edge.events import OFFER_IMPRESSION, PRESENCE_ENTERED
from edge.signage.measure import MAX_SHIFT_REAL_S, Measure, OnScreen, Place
from edge.timefmt import format_time, parse_start
from tests.test_signage_decision_clock import run_the_example

os.environ["PYGAME_HIDE_SUPPORT_PROMPT"] = "1"


@pytest.mark.parametrize("speed", [1.0, 4.0])
async def test_an_offer_impression_starts_no_earlier_than_the_entry_that_decided_it(
    tmp_path: Path, speed: float
) -> None:
    signage, events, _offers = await run_the_example(tmp_path, speed)
    zone = signage.place.zone
    entered: dict[str, float] = {}
    for event in events:
        if event.type == PRESENCE_ENTERED and event.data.get("zone") == zone and event.token is not None:
            entered.setdefault(event.token, parse_start(format_time(event.time)))  # as published
    impressions = [e.data for e in events if e.type == OFFER_IMPRESSION and e.data["kind"] == "offer"]
    assert impressions, "the offer's play ended when the gateway stopped"
    for data in impressions:
        start, end = parse_start(str(data["start"])), parse_start(str(data["end"]))
        token = str(data["token"])
        assert token in entered, "a personal offer follows its shopper's entry into the screen's zone"
        assert start >= entered[token], f"started {entered[token] - start:.3f} s before the entry at speed {speed}"
        assert abs((end - start) - float(str(data["duration_s"]))) <= 0.002, "start, end and duration_s agree"


@pytest.mark.parametrize("speed", [1.0, 4.0])
def test_a_play_decided_ahead_of_the_clock_moves_whole_and_no_further_than_the_replay_lead(speed: float) -> None:
    """Injected clocks: the decision is 0.15 real s x speed ahead of the clock (the core had the
    entry early); the first frame 0.05 real s after the decision starts at the decision, the play keeps
    its length on the clock, and a decision further ahead than a replay's lead moves it no further."""
    start = 1_795_000_000.0
    mono = [100.0]
    clock = ManualClock(start)
    m = Measure(Place("store-1", "screen-1", "baby", "in-aisle"), clock, lambda: speed, monotonic=lambda: mono[0])
    for ahead, expected_shift in ((0.15 * speed, 0.1 * speed), (5.0 * speed, MAX_SHIFT_REAL_S * speed)):
        entry = OnScreen("offer", "o-nappies", "p" * 16, "c" * 8, 12.0, 1, token="t", decided_at=start + ahead)
        m.sent(1, entry)
        mono[0] = 100.05
        clock.set(start + 0.05 * speed)
        m.started(1, 100.05)
        clock.set(start + 0.05 * speed + 3.0 * speed)
        mono[0] = 103.05
        impression = m.ended(1, 103.05, None)
        assert impression is not None
        data = impression.data
        first = parse_start(str(data["start"]))
        assert abs(first - (start + 0.05 * speed + expected_shift)) < 1e-3
        assert abs(float(str(data["duration_s"])) - 3.0 * speed) < 1e-3, "the play keeps its length"
        assert abs(parse_start(str(data["end"])) - first - float(str(data["duration_s"]))) < 1e-3
        clock, mono[0] = ManualClock(start), 100.0
        m.clock = clock
