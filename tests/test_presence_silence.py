"""The silence that ends a visit knows the advertiser (edge.presence_timing, the threshold engine's exit).

A fast advertiser that goes quiet is let go sooner than a slow one; a slow, lossy card standing still
is not; a scanner heard a little late gets its delivery lag on top, a peer's (heard once a second)
keeps the zone's timer; the zone's
``exit_timeout_s``, counted in the advertiser's adverts for one slower than a 2 Hz card, stays the cap
of this rule, so an exit of a shopper heard at the zone's edge always fires by then (one heard further
inside is held longer: tests/test_presence_pause.py).
"""

from __future__ import annotations

import random

import pytest

from edge import presence_timing as pt
from edge.config import from_mapping
from edge.presence import PresenceEngine, PresenceEvent, Sighting

T0 = 1_795_428_000.0
TICK_S = 0.25
NEAR_DBM = -68
"""Towards the zone's edge (2.4 m across from a 2 m scanner, the exit radius 4.5 m): the slowest walker
is out in 3.4 s, so the loss rule and the timer decide, not the hold of a shopper further inside
(edge.presence_timing.hold_s; tests/test_presence_pause.py)."""
CARD_DBM = -66
"""A 1 Hz card's level here (1.9 m across: out in 4.3 s): at -68 dBm its few adverts stay under the
higher bar a slow advertiser's fast level must clear (ENTER_FEW_SAMPLES_DB)."""
CAP_S = 12.0
"""A zone whose fixed timer is long (a store of slow cards): the rule, not the cap, decides below it."""


def engine(exit_timeout_s: float = CAP_S) -> PresenceEngine:
    config = from_mapping({"zones": [{"id": "baby", "scanners": ["gw-1"], "exit_timeout_s": exit_timeout_s}]})
    return PresenceEngine(config.zones, config.presence)


def stand(
    eng: PresenceEngine,
    interval_s: float,
    loss: float,
    seconds: float,
    *,
    seed: int,
    token: str = "s-1",
    level: int = NEAR_DBM,
) -> tuple[list[PresenceEvent], float]:
    """A shopper standing at the shelf for ``seconds``: adverts every ``interval_s``, each lost with
    probability ``loss`` (seeded), the timers ticked every TICK_S. Returns the events and the last
    advert heard."""
    rng = random.Random(seed)
    events: list[PresenceEvent] = []
    next_advert = T0
    last = T0
    t = T0
    while t < T0 + seconds:
        while next_advert <= t:
            if rng.random() >= loss:
                events += eng.observe(Sighting(token, "ibeacon", "gw-1", level, -59.0, next_advert))
                last = next_advert
            next_advert += interval_s
        t += TICK_S
        events += eng.tick(t)
    return events, last


def silent_until_exit(eng: PresenceEngine, last: float, t: float) -> float:
    """Tick on in silence from ``t``; how long after the last advert the exit came."""
    while t < last + 60:
        t += TICK_S
        for e in eng.tick(t):
            if e.kind == "exited":
                return e.at - last
    raise AssertionError("no exit in 60 s of silence")


def changes(events: list[PresenceEvent]) -> list[tuple[str, str]]:
    return [(e.kind, e.zone) for e in events if e.kind != "dwell"]


def test_a_fast_advertiser_that_goes_silent_exits_sooner_than_a_slow_one() -> None:
    phone, card = engine(), engine()
    phone_events, phone_last = stand(phone, 0.1, 0.1, 60, seed=1)  # 10 Hz, 10 % lost
    card_events, card_last = stand(card, 1.0, 0.25, 60, seed=2)  # 1 Hz, a quarter lost
    assert changes(phone_events) == [("entered", "baby")]
    assert changes(card_events) == [("entered", "baby")]
    phone_s = silent_until_exit(phone, phone_last, T0 + 60)
    card_s = silent_until_exit(card, card_last, T0 + 60)
    assert pt.SILENCE_MIN_S <= phone_s <= 4.0
    assert card_s >= phone_s + 2.5
    assert card_s <= CAP_S + TICK_S


def test_a_slow_card_with_40_percent_loss_standing_still_does_not_exit() -> None:
    """Half an hour at 1 Hz with 40 % of the adverts lost: silences of 4-6 s are ordinary for it (a
    fixed 4 s timer fired dozens of times here), so none ends the visit."""
    eng = engine()
    events, last = stand(eng, 1.0, 0.4, 1800, seed=3)
    assert changes(events) == [("entered", "baby")]
    assert eng.zone_of("s-1") == "baby"
    assert silent_until_exit(eng, last, T0 + 1800) > 8.0


def test_the_zones_timer_stays_the_cap() -> None:
    """With the default 4 s timer a 2 Hz card is let go after 4 s of silence, as before; a 1 Hz card
    after the same timer counted in its adverts (eight of them: 8 s, edge.presence_timing.in_adverts_s)."""
    eng = engine(4.0)
    stand(eng, 0.5, 0.0, 30, seed=4)
    assert silent_until_exit(eng, T0 + 29.5, T0 + 30) == pytest.approx(4.0, abs=TICK_S)
    eng = engine(4.0)
    stand(eng, 1.0, 0.0, 30, seed=4, level=CARD_DBM)
    assert silent_until_exit(eng, T0 + 29, T0 + 30) == pytest.approx(8.0, abs=TICK_S)


def test_an_advertiser_not_yet_learned_gets_the_zones_timer() -> None:
    """A few adverts say little about a loss rate: the cap decides until RATE_MIN_GAPS gaps."""
    eng = engine()
    events: list[PresenceEvent] = []
    for i in range(pt.RATE_MIN_GAPS - 2):
        events += eng.observe(Sighting("s-1", "ibeacon", "gw-1", NEAR_DBM, -59.0, T0 + i * 0.1))
    assert changes(events) == [("entered", "baby")]
    last = T0 + (pt.RATE_MIN_GAPS - 3) * 0.1
    assert silent_until_exit(eng, last, last) == pytest.approx(CAP_S, abs=TICK_S)


def peer_fed(eng: PresenceEngine, seconds: int, delay_s: float) -> tuple[list[PresenceEvent], float]:
    """A fast phone (10 Hz, 10 % lost) heard by a scanner whose samples arrive a second at a time,
    ``delay_s`` after the first of them (a peer's summary, edge.peers)."""
    rng = random.Random(5)
    events: list[PresenceEvent] = []
    last = T0
    for slot in range(seconds):
        start = T0 + slot
        heard = [start + i * 0.1 for i in range(10) if rng.random() >= 0.1]
        arrival = start + delay_s
        events += eng.tick(arrival - 0.01)
        for at in heard:
            events += eng.observe(Sighting("s-1", "ibeacon", "gw-1", NEAR_DBM, -59.0, at))
            last = at
        for k in range(4):
            events += eng.tick(arrival + k * TICK_S)
    return events, last


def test_a_peers_scanner_heard_once_a_second_keeps_the_zones_timer() -> None:
    """Its silences are the summaries' timing as much as the phone's: no shorter limit."""
    eng = engine()
    events, last = peer_fed(eng, 60, 1.2)
    assert changes(events) == [("entered", "baby")]
    assert silent_until_exit(eng, last, T0 + 60 + 0.2) == pytest.approx(CAP_S, abs=TICK_S)


def test_a_scanner_a_little_late_gets_its_lag_on_top() -> None:
    """Samples arriving in batches up to 0.2 s late (under REMOTE_LAG_S): the phone's own limit plus
    that lag, and no exit between two batches."""
    eng = engine()
    rng = random.Random(6)
    events: list[PresenceEvent] = []
    last = T0
    for batch in range(300):  # 60 s in batches of 0.2 s
        start = T0 + batch * 0.2
        heard = [start + i * 0.05 for i in range(4) if rng.random() >= 0.1]
        events += eng.tick(start + 0.19)
        for at in heard:
            events += eng.observe(Sighting("s-1", "ibeacon", "gw-1", NEAR_DBM, -59.0, at))
            last = at
        events += eng.tick(start + 0.2)
    assert changes(events) == [("entered", "baby")]
    took = silent_until_exit(eng, last, T0 + 60)
    assert pt.SILENCE_MIN_S + 0.2 <= took <= pt.SILENCE_MIN_S + 1.5 + pt.REMOTE_LAG_S


def adverts(rate: pt.SilenceRate, interval_s: float, loss: float, seconds: float, seed: int) -> None:
    rng = random.Random(seed)
    t = rate.last_at
    end = t + seconds
    while t < end:
        t += interval_s
        if rng.random() >= loss:
            rate.heard(t)


@pytest.mark.parametrize(
    ("interval_s", "loss", "low", "high"),
    [
        (0.3, 0.1, 3.0, 4.6),  # the multi-gateway row's cards: ~3.5 s
        (0.1, 0.1, 3.0, 4.6),  # a 10 Hz phone: the fades, not its rate, bound it
        (1.0, 0.25, 6.5, 9.0),  # a 1 Hz card losing a quarter: ~7.6 s
        (1.0, 0.4, 9.5, 14.0),  # ...losing 40 %: ~11.4 s
    ],
)
def test_the_silence_limit_follows_interval_and_loss(interval_s: float, loss: float, low: float, high: float) -> None:
    rate = pt.SilenceRate(T0)
    adverts(rate, interval_s, loss, 300, seed=7)
    limit = pt.silence_limit_s(rate)
    assert limit is not None
    assert low <= limit <= high


def test_the_delivery_lag_is_the_largest_seen_and_is_forgotten() -> None:
    lag = pt.DeliveryLag()
    lag.saw("own", T0)
    lag.saw("peer", T0 - 1.2)
    assert lag.of("own") == 0.0
    assert lag.of("peer") == pytest.approx(1.2)
    lag.ticked(T0 + 10)
    assert lag.of("peer") == pytest.approx(1.2 - 10 * pt.LAG_FORGET_S_PER_S)
    lag.ticked(T0 + 100)
    assert lag.of("peer") == 0.0
    assert lag.of("never") == 0.0
