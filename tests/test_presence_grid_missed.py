"""The grid's leaving confirmed by an advert that no scanner heard (edge/presence_grid.py ``MISSED_LEAVE``;
docs/presence.md, "The grid's right zone against the oracle (session 16)"): once "no zone" holds ENTER_P, the
leaving waits for one more advert (``CONFIRM_LEAVE``) -- and the advert due one interval after the last reading
counts as that one when no scanner heard it. Before session 16 a shopper who walked out of hearing waited for an
advert that never came, and was exited by SILENCE_S (27 s) instead.

The decisions are driven as in tests/test_presence_grid_lean.py (``_decide`` with the shares a real engine would
compute, on a real track made by real sightings), then the real engine on clean readings. Pure: the times are the
test's."""

from __future__ import annotations

import pytest

from edge import presence_grid
from edge.presence import PresenceEvent, Sighting
from edge.presence_grid import ADVERT_DELAY_S, ENTER_LEAN_P, ENTER_P, SILENCE_S, GridEstimator
from edge.presence_grid_windows import Track
from tests.test_presence_grid import T0, TICK_S, estimator, rssi_at

OUT = [0.15, 0.0]
"""Zone a's share under STAY_P, "no zone" at 0.85 (under LEAVE_SURE_P): leaving is due, once confirmed."""


@pytest.fixture(autouse=True)
def _no_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    """These rules are decided within a second or two of an entry: the hold after an entry (HOLD_S, session 46) is off
    here and tested in tests/test_presence_grid_headings.py."""
    monkeypatch.setattr(presence_grid, "HOLD_S", 0.0)


def heard(est: GridEstimator, at: float, token: str = "s-1") -> Track:
    """One advert of ``token`` heard by zone a's scanner at ``at``; the engine's track for it."""
    est.observe(Sighting(token, "eddystone-eid", "gw-a", rssi_at(2.0, 2.0), -59.0, at))
    return est._tracks[token]


def kinds(events: list[PresenceEvent]) -> list[tuple[str, str]]:
    return [(e.kind, e.zone) for e in events if e.kind != "dwell"]


def in_a(interval: float) -> tuple[GridEstimator, Track, float]:
    """An engine with s-1 in zone a, heard twice ``interval`` apart (its advertiser's interval); the last reading's
    time."""
    est = estimator()
    heard(est, T0)
    track = heard(est, T0 + interval)
    est._decide("s-1", track, T0 + interval + 0.01, [ENTER_P, 0.0])
    assert est.zone_of("s-1") == "a"
    return est, track, T0 + interval


def test_the_rule_is_on() -> None:
    assert presence_grid.MISSED_LEAVE
    assert presence_grid.CONFIRM_LEAVE
    assert 0.0 < ADVERT_DELAY_S <= 0.01


def test_an_advert_due_and_unheard_confirms_the_leaving() -> None:
    """A 1 Hz card: "no zone" first at the decision 0.25 s after its last reading (the leaving due); 0.75 s after,
    its next advert is not yet due: still in a; 1.25 s after, the advert due was heard by no scanner: exited.
    (Before session 16: still in a until an advert was heard, or SILENCE_S.)"""
    est, track, last = in_a(1.0)
    assert est._decide("s-1", track, last + 0.25, OUT) == []
    assert est._decide("s-1", track, last + 0.75, OUT) == []
    assert est.zone_of("s-1") == "a"
    assert kinds(est._decide("s-1", track, last + 1.25, OUT)) == [("exited", "a")]
    assert est.zone_of("s-1") is None


def test_the_interval_is_the_advertisers_own() -> None:
    """The same at 4 Hz: the advert due 0.25 s after the last reading; missed by 0.5 s."""
    est, track, last = in_a(0.25)
    assert est._decide("s-1", track, last + 0.25, OUT) == []
    assert kinds(est._decide("s-1", track, last + 0.5, OUT)) == [("exited", "a")]


def test_a_heard_advert_still_confirms_as_before() -> None:
    est, track, last = in_a(1.0)
    assert est._decide("s-1", track, last + 0.25, OUT) == []
    heard(est, last + 0.5)
    assert kinds(est._decide("s-1", track, last + 0.5, OUT)) == [("exited", "a")]


def test_without_an_interval_known_only_an_advert_confirms() -> None:
    """A shopper heard once has no interval yet: the leaving waits for an advert, as before."""
    est = estimator()
    track = heard(est, T0)
    est._decide("s-1", track, T0 + 0.25, [ENTER_P, 0.0])
    assert est._decide("s-1", track, T0 + 0.5, OUT) == []
    assert est._decide("s-1", track, T0 + 20.0, OUT) == []
    assert est.zone_of("s-1") == "a"


def test_an_unheard_advert_does_not_confirm_an_entry() -> None:
    """Silence is no evidence for a zone: a lean on zone a waits for a heard advert however long."""
    lean = (ENTER_LEAN_P + ENTER_P) / 2
    est = estimator()
    heard(est, T0)
    track = heard(est, T0 + 1.0)
    assert est._decide("s-1", track, T0 + 1.25, [lean, 0.0]) == []
    assert est._decide("s-1", track, T0 + 5.0, [lean, 0.0]) == []
    assert est.zone_of("s-1") is None


def test_switched_off_only_a_heard_advert_confirms(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(presence_grid, "MISSED_LEAVE", False)
    est, track, last = in_a(1.0)
    assert est._decide("s-1", track, last + 0.25, OUT) == []
    assert est._decide("s-1", track, last + 5.0, OUT) == []
    assert est.zone_of("s-1") == "a"


@pytest.mark.parametrize("hz", [4.0, 1.0])
def test_a_shopper_who_walks_out_of_hearing_is_exited_within_an_interval(
    hz: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real engine on clean readings (the corridor of tests/test_presence_grid.py): in zone a (0-4 m) for 20 s,
    then walking away at 1 m/s; the adverts stop at the first tick whose posterior puts "no zone" at ENTER_P while
    the engine still holds a (the leaving due, not yet confirmed) -- the shopper is out of hearing from then on.
    Exited within the advertiser's interval and two ticks of the last reading; before session 16, SILENCE_S later.
    Every leaving confirmed (LEAVE_SURE_P off): a 1 Hz card's one advert may take "no zone" past it, leaving at once."""
    monkeypatch.setattr(presence_grid, "LEAVE_SURE_P", 1.01)
    est = estimator()
    events: list[PresenceEvent] = []
    at, tick, last = T0, T0 + TICK_S, None
    while last is None:
        x = 2.0 if at - T0 < 20.0 else 2.0 + (at - T0 - 20.0)
        assert x < 14.0, "the leaving never came due before the shopper was out of gw-a's reach"
        while tick <= at:
            events += est.tick(tick)
            tick += TICK_S
            if est.zone_of("s-1") == "a" and est.posterior("s-1")[None] >= ENTER_P:
                last = at - 1.0 / hz  # (the last advert fed)
                break
        if last is None:
            events += est.observe(Sighting("s-1", "eddystone-eid", "gw-a", rssi_at(x, 2.0), -59.0, at))
            at += 1.0 / hz
    end = last + SILENCE_S + 1.0
    while tick <= end and est.zone_of("s-1") is not None:
        events += est.tick(tick)
        tick += TICK_S
    exits = [e for e in events if e.kind == "exited"]
    assert kinds(events) == [("entered", "a"), ("exited", "a")]
    assert exits[0].at <= last + 1.0 / hz + ADVERT_DELAY_S + 2 * TICK_S
