"""A slow loyalty card (1 Hz, 0.5 Hz) in the threshold engine (edge.presence, issue #13).

The engine's windows and its silence timer were set in seconds for a 4 Hz phone and a 2 Hz card: the
fast level wants ENTER_MIN_SAMPLES (3) adverts in ENTER_WINDOW_S (2 s), and the windows keep
RSSI_HISTORY_S (5 s). A 0.5 Hz card never has 3 adverts in 2 s (it never entered: the sweep's "cards
at 0.5 Hz only", 28 % right zone), nor the EXIT_MIN_SAMPLES (4) in 5 s that tell a walk away. Now the
fast level of an advertiser heard to be slower spans ENTER_MIN_SAMPLES of its own adverts, and its
windows keep EXIT_SLOW_SAMPLES of them (RSSI_HISTORY_S counted in its adverts,
:func:`edge.presence_timing.in_adverts_s`). A phone's and a 2 Hz card's behaviour is unchanged.
"""

from __future__ import annotations

import random

import pytest

from edge import constants as c
from edge.config import from_mapping
from edge.presence import PresenceEngine, PresenceEvent, Sighting
from edge.presence_reach import enter_bar, exit_bar
from edge.presence_timing import REFERENCE_INTERVAL_S, SilenceRate, hold_s, in_adverts_s

CONFIG = from_mapping({"zones": [{"id": "bakery", "scanners": ["gw-1"]}, {"id": "drinks", "scanners": ["gw-2"]}]})
BAKERY, DRINKS = CONFIG.zones
T0 = 1_795_428_000.0
NEAR_DBM = round(enter_bar(BAKERY, CONFIG.presence.path_loss_exponent)) + 8
"""At the bakery's shelf: well above its enter threshold..."""
FAR_DBM = NEAR_DBM - 20
"""...and the other zone's scanner, far below it (no aisle ghost)."""
GONE_DBM = round(exit_bar(BAKERY, CONFIG.presence.path_loss_exponent)) - 12
"""Walked away: well below the bakery's exit threshold."""


def card(
    eng: PresenceEngine,
    hz: float,
    start: float,
    seconds: float,
    near: int = NEAR_DBM,
    lost: frozenset[int] = frozenset(),
    token: str = "card-1",
) -> tuple[list[PresenceEvent], float]:
    """``seconds`` of a card advertising at ``hz`` (adverts numbered in ``lost`` unheard), heard by
    both scanners, the engine ticked every 0.25 s as the gateway does; the events and the end time."""
    events: list[PresenceEvent] = []
    interval = 1.0 / hz
    advert = 0
    next_advert = start
    at = start
    end = start + seconds
    while at < end:
        while next_advert <= at:
            if advert not in lost:
                events += eng.observe(Sighting(token, "ibeacon", "gw-1", near, -59.0, next_advert))
                events += eng.observe(Sighting(token, "ibeacon", "gw-2", FAR_DBM, -59.0, next_advert + 0.01))
            advert += 1
            next_advert = start + advert * interval
        at += 0.25
        events += eng.tick(at)
    return events, end


def kinds(events: list[PresenceEvent]) -> list[tuple[str, str]]:
    return [(e.kind, e.zone) for e in events if e.kind != "dwell"]


def test_a_half_hertz_card_at_a_shelf_enters() -> None:
    """Old code: never (no 3 adverts, nor 2, in the 2 s fast window)."""
    eng = PresenceEngine(CONFIG.zones, CONFIG.presence)
    events, _ = card(eng, 0.5, T0, 60.0)
    assert kinds(events) == [("entered", "bakery")]
    entered = events[0].at - T0
    assert entered < 30.0  # its rate learned (RATE_MIN_GAPS), then ENTER_MIN_SAMPLES of its adverts


def test_a_half_hertz_card_that_walks_away_leaves_on_its_level() -> None:
    """Its windows keep EXIT_SLOW_SAMPLES of its adverts, so the slow level can say "walked away" on
    EXIT_MIN_SAMPLES samples (RSSI_HISTORY_S, 5 s, holds 2-3): the exit comes from the level, while
    the card is still heard, not from the silence timer."""
    eng = PresenceEngine(CONFIG.zones, CONFIG.presence)
    events, at = card(eng, 0.5, T0, 60.0)
    assert kinds(events) == [("entered", "bakery")]
    events, _ = card(eng, 0.5, at, 30.0, near=GONE_DBM)
    assert kinds(events) == [("exited", "bakery")]
    assert events[0].at - at <= c.EXIT_SLOW_SAMPLES * 2.0 + 0.5  # within its window of adverts


def test_a_phone_still_leaves_at_the_zone_timer() -> None:
    """A 4 Hz phone gone silent: out after ``exit_timeout_s`` (or its shorter learned limit), or after
    the hold of a shopper this far inside (the slowest walker's time to the exit radius plus an
    interval, edge.presence_timing.hold_s), whichever is longer."""
    eng = PresenceEngine(CONFIG.zones, CONFIG.presence)
    events, at = card(eng, 4.0, T0, 20.0, token="phone-1")
    assert kinds(events) == [("entered", "bakery")]
    gone: list[PresenceEvent] = []
    now = at
    while not gone and now < at + 20.0:
        now += 0.25
        gone = eng.tick(now)
    assert kinds(gone) == [("exited", "bakery")]
    last = T0 + (round(20.0 * 4.0) - 1) / 4.0
    zone = eng._zones["bakery"]
    ref, exponent = CONFIG.presence.measured_power_1m_dbm, CONFIG.presence.path_loss_exponent
    held_s = hold_s(NEAR_DBM, zone.edge_m, zone.above_m, ref, exponent, 0.0) + 0.25  # and the phone's interval
    assert gone[0].at - last <= max(BAKERY.exit_timeout_s, held_s) + 0.25


def test_spans_count_in_the_advertisers_adverts() -> None:
    """in_adverts_s: the span as given for a rate not learned and for anything as fast as a 2 Hz card;
    stretched by the interval (the shortest gap of a block, losses or not) for a slower one."""
    assert in_adverts_s(None, 5.0) == 5.0
    rng = random.Random(7)
    for hz, expected in ((4.0, 5.0), (2.0, 5.0), (1.0, 10.0), (0.5, 20.0)):
        at = T0
        rate = SilenceRate(at)
        for i in range(40):
            if i % 3 == 1:  # a third of the adverts lost
                at += 1.0 / hz
            at += 1.0 / hz + rng.uniform(0.0, 0.01)
            rate.heard(at)
        assert in_adverts_s(rate, 5.0) == pytest.approx(expected, rel=0.05), hz
    assert 5.0 / REFERENCE_INTERVAL_S == 10  # RSSI_HISTORY_S: ten of a 2 Hz card's adverts


def test_a_one_hertz_card_losing_adverts_stays() -> None:
    """Three adverts lost in a row are a 4 s gap: the zone's timer (exit_timeout_s, 4 s) let the
    shopper go and back in; the timer counted in the card's adverts (8 s) does not."""
    eng = PresenceEngine(CONFIG.zones, CONFIG.presence)
    lost = frozenset({40, 41, 42, 70, 71, 72, 100, 101, 102})
    events, _ = card(eng, 1.0, T0, 150.0, lost=lost)
    assert kinds(events) == [("entered", "bakery")]
    assert eng.zone_of("card-1") == "bakery"
