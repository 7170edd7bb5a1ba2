"""The grid's decisions on a lean confirmed by a later advert (edge/presence_grid.py ``ENTER_LEAN_P``,
``CONFIRM_LEAVE``; docs/presence.md, "The grid's entry against the EMA (session 15)"): a zone holding half the
shopper's mass at one decision and still at the next one after another advert is entered; "no zone" at ENTER_P is
left for only once it still holds after another advert; a hand-off to another zone at HANDOFF_P is at once.

The decisions are driven with the shares a real engine would compute (``_decide`` is what ``tick`` calls with a
track's shares); the track is a real one, made by a real sighting. Pure: the times are the test's."""

from __future__ import annotations

import numpy as np
import pytest

from edge import presence_grid
from edge.presence import Sighting
from edge.presence_grid import ENTER_LEAN_P, ENTER_P, STAY_P, GridEstimator
from edge.presence_grid_windows import Track
from tests.test_presence_grid import CONFIG, T0, estimator, rssi_at, walk

LEAN = (ENTER_LEAN_P + ENTER_P) / 2
"""A share between the lean and ENTER_P (0.625 today): entered only once confirmed."""


@pytest.fixture(autouse=True)
def _no_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    """These rules are decided within a second or two of an entry: the hold after an entry (HOLD_S, session 46) is off
    here and tested in tests/test_presence_grid_headings.py."""
    monkeypatch.setattr(presence_grid, "HOLD_S", 0.0)


def heard(est: GridEstimator, at: float, token: str = "s-1") -> Track:
    """One advert of ``token`` heard by zone a's scanner at ``at``; the engine's track for it."""
    est.observe(Sighting(token, "eddystone-eid", "gw-a", rssi_at(2.0, 2.0), -59.0, at))
    return est._tracks[token]


def entered(events: list[presence_grid.PresenceEvent]) -> list[str]:
    return [e.zone for e in events if e.kind == "entered"]


def test_the_rule_is_on_and_between_half_and_enter_p() -> None:
    assert ENTER_LEAN_P == 0.5
    assert STAY_P < ENTER_LEAN_P < ENTER_P
    assert presence_grid.CONFIRM_LEAVE


def test_a_lean_is_entered_once_a_later_advert_keeps_it() -> None:
    """Zone a at 0.625: not at the decision that first sees it, nor at a next one with no advert heard between; at
    the first decision after another advert. (Before session 15: never below ENTER_P.)"""
    est = estimator()
    track = heard(est, T0)
    assert est._decide("s-1", track, T0 + 0.25, [LEAN, 0.0]) == []
    assert est._decide("s-1", track, T0 + 0.5, [LEAN, 0.0]) == []  # (no advert since)
    heard(est, T0 + 0.6)
    assert entered(est._decide("s-1", track, T0 + 0.75, [LEAN, 0.0])) == ["a"]
    assert est.zone_of("s-1") == "a"


def test_a_lean_that_lapses_starts_over(monkeypatch: pytest.MonkeyPatch) -> None:
    """Through ``tick`` (the windows' shares set by the test): zone a at 0.625, then under half at the next tick
    (no decision due: the lean is dropped), then 0.625 again after another advert -- a first lean again, not
    entered until the advert after that."""
    est = estimator()
    heard(est, T0)
    shares = {"now": [LEAN, 0.0]}
    monkeypatch.setattr(est._windows, "shares", lambda: (np.array([shares["now"]]), np.zeros(1, dtype=bool)))
    assert entered(est.tick(T0 + 0.25)) == []
    heard(est, T0 + 0.3)
    shares["now"] = [0.3, 0.0]
    assert entered(est.tick(T0 + 0.5)) == []
    heard(est, T0 + 0.55)
    shares["now"] = [LEAN, 0.0]
    assert entered(est.tick(T0 + 0.75)) == []
    heard(est, T0 + 0.8)
    assert entered(est.tick(T0 + 1.0)) == ["a"]


def test_a_lean_for_another_zone_starts_over() -> None:
    """Zone a leaned on, then zone b: b is entered only after an advert heard since b's own lean began."""
    est = estimator()
    track = heard(est, T0)
    assert est._decide("s-1", track, T0 + 0.25, [LEAN, 0.0]) == []
    heard(est, T0 + 0.3)
    assert est._decide("s-1", track, T0 + 0.5, [0.0, LEAN]) == []
    heard(est, T0 + 0.6)
    assert entered(est._decide("s-1", track, T0 + 0.75, [0.0, LEAN])) == ["b"]


def test_enter_p_is_entered_at_once() -> None:
    est = estimator()
    track = heard(est, T0)
    assert entered(est._decide("s-1", track, T0 + 0.25, [ENTER_P, 0.0])) == ["a"]


def test_leaving_for_no_zone_waits_for_a_later_advert() -> None:
    """In zone a, its share under STAY_P and "no zone" at 0.85 (over ENTER_P, under LEAVE_SURE_P): not left at the
    first such decision (one advert's swing); left at the first after another advert says so too. (Before session
    15: left at once.)"""
    est = estimator()
    track = heard(est, T0)
    est._decide("s-1", track, T0 + 0.25, [ENTER_P, 0.0])
    assert est.zone_of("s-1") == "a"
    assert est._decide("s-1", track, T0 + 0.5, [0.15, 0.0]) == []
    assert est.zone_of("s-1") == "a"
    heard(est, T0 + 0.6)
    events = est._decide("s-1", track, T0 + 0.75, [0.15, 0.0])
    assert [(e.kind, e.zone) for e in events] == [("exited", "a")]
    assert est.zone_of("s-1") is None


def test_a_swing_back_cancels_the_leaving() -> None:
    """One decision says "no zone", the next (after another advert) finds zone a back over STAY_P: still in a, and
    a later "no zone" is a first sighting again."""
    est = estimator()
    track = heard(est, T0)
    est._decide("s-1", track, T0 + 0.25, [ENTER_P, 0.0])
    est._decide("s-1", track, T0 + 0.5, [0.15, 0.0])
    heard(est, T0 + 0.6)
    est._decide("s-1", track, T0 + 0.75, [0.5, 0.0])
    heard(est, T0 + 0.8)
    assert est._decide("s-1", track, T0 + 1.0, [0.15, 0.0]) == []
    assert est.zone_of("s-1") == "a"


def test_a_hand_off_to_a_zone_at_enter_p_is_at_once() -> None:
    est = estimator()
    track = heard(est, T0)
    est._decide("s-1", track, T0 + 0.25, [ENTER_P, 0.0])
    events = est._decide("s-1", track, T0 + 0.5, [0.1, ENTER_P])
    assert [(e.kind, e.zone) for e in events] == [("exited", "a"), ("entered", "b")]


def test_switched_off_the_engine_decides_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(presence_grid, "ENTER_LEAN_P", 1.0)
    monkeypatch.setattr(presence_grid, "CONFIRM_LEAVE", False)
    est = estimator()
    track = heard(est, T0)
    for k in range(1, 5):
        heard(est, T0 + k * 0.25 - 0.1)
        assert est._decide("s-1", track, T0 + k * 0.25, [LEAN, 0.0]) == []
    est._decide("s-1", track, T0 + 1.25, [ENTER_P, 0.0])
    events = est._decide("s-1", track, T0 + 1.5, [0.15, 0.0])
    assert [(e.kind, e.zone) for e in events] == [("exited", "a")]


def test_a_walk_in_and_out_of_the_corridor_is_one_visit() -> None:
    """The real engine on clean readings (the corridor of tests/test_presence_grid.py, 4 Hz and a 1 Hz card): one
    visit of zone a each, no flap."""
    for hz in (4.0, 1.0):
        est = GridEstimator(CONFIG.zones, CONFIG.presence, CONFIG.scanners, CONFIG.floor)
        path = [(T0, 14.0), (T0 + 10, 14.0), (T0 + 20, 2.0), (T0 + 40, 2.0), (T0 + 52, 14.0), (T0 + 80, 14.0)]
        events = walk(est, path, hz=hz)
        assert [(e.kind, e.zone) for e in events if e.kind != "dwell"] == [("entered", "a"), ("exited", "a")]


def test_no_zone_at_leave_sure_p_is_left_at_once() -> None:
    """At LEAVE_SURE_P (9 to 1) or more of "no zone": left at the first such decision, no confirming advert (session
    27); just under it, the leaving waits as above."""
    assert ENTER_P < presence_grid.LEAVE_SURE_P <= 0.95
    est = estimator()
    track = heard(est, T0)
    est._decide("s-1", track, T0 + 0.25, [ENTER_P, 0.0])
    events = est._decide("s-1", track, T0 + 0.5, [1.0 - presence_grid.LEAVE_SURE_P, 0.0])
    assert [(e.kind, e.zone) for e in events] == [("exited", "a")]
    est = estimator()
    track = heard(est, T0)
    est._decide("s-1", track, T0 + 0.25, [ENTER_P, 0.0])
    assert est._decide("s-1", track, T0 + 0.5, [1.0 - presence_grid.LEAVE_SURE_P + 0.01, 0.0]) == []
    assert est.zone_of("s-1") == "a"
