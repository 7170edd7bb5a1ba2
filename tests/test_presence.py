"""The presence engine and the RSSI smoother, on a clock moved by hand.

Enter, the dead band, exit on a timer with no further adverts, exit when walking away, dwell,
hand-off only with a margin held for several samples, forget, scanners outside every zone, the
measured-power correction; and the small pieces of edge.rssi.
"""

from __future__ import annotations

import math

import pytest

from edge import constants as c
from edge.config import from_mapping
from edge.presence import PresenceEngine, PresenceEvent, Sighting
from edge.presence_reach import enter_bar, exit_bar
from edge.presence_timing import WALK_SPEED_MIN_M_S
from edge.rssi import RssiWindow, distance_m, trimmed_mean

CONFIG = from_mapping(
    {
        "zones": [
            {"id": "baby", "scanners": ["gw-1"], "dwell_interval_s": 10.0},
            {"id": "drinks", "scanners": ["gw-2", "gw-3"], "tags": ["alcohol"]},
        ]
    }
)
BABY, DRINKS = CONFIG.zones
T0 = 1_795_428_000.0
HZ = 4.0
NEAR_DBM = -55
"""Well inside a zone (under a metre from the scanner)."""
DEAD_BAND_DBM = round(
    (enter_bar(BABY, CONFIG.presence.path_loss_exponent) + exit_bar(BABY, CONFIG.presence.path_loss_exponent)) / 2
)
"""Between the exit and the enter thresholds."""


def engine() -> PresenceEngine:
    return PresenceEngine(CONFIG.zones, CONFIG.presence)


def see(eng: PresenceEngine, scanner: str, rssi: int, at: float, token: str = "s-1") -> list[PresenceEvent]:
    return eng.observe(Sighting(token, "ibeacon", scanner, rssi, -59.0, at))


def feed(
    eng: PresenceEngine, scanner: str, rssi: int, start: float, seconds: float, *, token: str = "s-1"
) -> list[PresenceEvent]:
    """Adverts at 4 Hz for ``seconds``, with the timers ticked at every advert."""
    out: list[PresenceEvent] = []
    for i in range(int(seconds * HZ)):
        at = start + i / HZ
        out += see(eng, scanner, rssi, at, token)
        out += eng.tick(at)
    return out


def ticks(eng: PresenceEngine, start: float, seconds: float) -> list[PresenceEvent]:
    out: list[PresenceEvent] = []
    t = start
    while t < start + seconds:
        t += c.TICK_INTERVAL_S
        out += eng.tick(t)
    return out


def kinds(events: list[PresenceEvent]) -> list[tuple[str, str]]:
    return [(e.kind, e.zone) for e in events]


# --- entering ----------------------------------------------------------------------------------


def test_a_near_shopper_enters_quickly_with_the_event_fields() -> None:
    eng = engine()
    events = feed(eng, "gw-1", NEAR_DBM, T0, 3)
    assert kinds(events) == [("entered", "baby")]
    entered = events[0]
    assert entered.token == "s-1"
    assert entered.via == "ibeacon"
    assert entered.at - T0 <= c.ENTER_MIN_SAMPLES / HZ
    assert entered.rssi == pytest.approx(NEAR_DBM)
    assert entered.distance_m == pytest.approx(distance_m(NEAR_DBM, -59.0, CONFIG.presence.path_loss_exponent))
    assert entered.dwell_s == 0.0
    assert eng.zone_of("s-1") == "baby"
    [occupant] = eng.occupants("baby")
    assert (occupant.token, occupant.zone, occupant.since, occupant.via) == ("s-1", "baby", entered.at, "ibeacon")
    assert eng.occupants("drinks") == []


def test_one_loud_advert_is_not_enough_to_enter() -> None:
    eng = engine()
    assert see(eng, "gw-1", -40, T0) == []
    assert eng.tick(T0 + 0.1) == []
    assert eng.zone_of("s-1") is None


def test_a_far_shopper_never_enters() -> None:
    assert feed(engine(), "gw-1", -95, T0, 20) == []


def test_a_shopper_in_the_dead_band_does_not_enter() -> None:
    assert feed(engine(), "gw-1", DEAD_BAND_DBM, T0, 20) == []


def test_the_louder_of_two_zones_wins_when_entering() -> None:
    eng = engine()
    events: list[PresenceEvent] = []
    for i in range(20):
        at = T0 + i / HZ
        events += see(eng, "gw-1", -62, at)
        events += see(eng, "gw-2", -52, at)
    assert kinds(events) == [("entered", "drinks")]


def test_a_zone_with_two_scanners_takes_the_louder() -> None:
    eng = engine()
    events: list[PresenceEvent] = []
    for i in range(12):
        events += see(eng, "gw-2", -90, T0 + i / HZ)
        events += see(eng, "gw-3", NEAR_DBM, T0 + i / HZ + 0.01)
    assert kinds(events) == [("entered", "drinks")]


def test_the_sender_measured_power_shifts_the_thresholds() -> None:
    """Read at -76 dBm, a weak card (-68 dBm at 1 m) is about 2.3 m away: in the zone; a phone of
    the reference power (-59 dBm at 1 m) is about 6 m away: outside."""
    card = engine()
    events: list[PresenceEvent] = []
    for i in range(12):
        events += card.observe(Sighting("s-card", "ibeacon", "gw-1", -76, -68.0, T0 + i / HZ))
    assert kinds(events) == [("entered", "baby")]
    assert events[0].rssi == pytest.approx(-76)
    assert events[0].distance_m == pytest.approx(distance_m(-76, -68.0, CONFIG.presence.path_loss_exponent))
    assert feed(engine(), "gw-1", -76, T0, 3) == []


def test_a_slow_card_enters_on_two_samples_only_when_clearly_inside() -> None:
    """A 2 Hz card after a missed advert has two samples in the fast window: they stand for three
    only ENTER_FEW_SAMPLES_DB above the threshold."""
    bar = enter_bar(BABY, CONFIG.presence.path_loss_exponent) + c.ENTER_FEW_SAMPLES_DB
    loud, marginal = engine(), engine()
    out_loud: list[PresenceEvent] = []
    out_marginal: list[PresenceEvent] = []
    for at in (T0 + 1.0, T0 + 2.0, T0 + 2.5):  # 2 Hz; the advert at T0 + 1.5 was missed
        out_loud += see(loud, "gw-1", math.ceil(bar) + 1, at)
        out_marginal += see(marginal, "gw-1", math.floor(bar) - 1, at)
    assert kinds(out_loud) == [("entered", "baby")]
    assert out_loud[0].at == T0 + 2.0  # on two samples
    assert kinds(out_marginal) == [("entered", "baby")]
    assert out_marginal[0].at == T0 + 2.5  # on the third, as before


def test_a_shopper_in_the_aisle_between_two_zones_enters_neither() -> None:
    """Heard about equally by the scanners on both sides (an aisle between two departments), a
    shopper is in neither zone even when both read above the enter threshold."""
    eng = engine()
    events: list[PresenceEvent] = []
    level = round(enter_bar(BABY, CONFIG.presence.path_loss_exponent)) + 2
    for i in range(40):
        at = T0 + i / HZ
        events += see(eng, "gw-1", level, at)
        events += see(eng, "gw-2", level - round(c.ENTER_LEAD_DB) + 2, at + 0.01)
        events += eng.tick(at)
    assert events == []
    clear = feed(eng, "gw-1", NEAR_DBM, T0 + 10, 3)  # then walks up to the baby shelves
    assert kinds(clear) == [("entered", "baby")]


def test_two_deep_fades_among_a_slow_cards_few_samples_do_not_throw_it_out() -> None:
    """A 2 Hz card has 5-6 samples in RSSI_WINDOW_S; the exit decision reaches back for
    EXIT_SLOW_SAMPLES of them, so two deep fades in a row are outvoted."""
    eng = engine()
    events: list[PresenceEvent] = []
    for i in range(40):  # 20 s at 2 Hz, standing at the shelf
        at = T0 + i * 0.5
        fade = i in (30, 31)
        events += see(eng, "gw-1", -95 if fade else NEAR_DBM, at)
        events += eng.tick(at)
        events += eng.tick(at + c.TICK_INTERVAL_S)
    assert kinds([e for e in events if e.kind != "dwell"]) == [("entered", "baby")]
    assert eng.zone_of("s-1") == "baby"


# --- staying and leaving ------------------------------------------------------------------------


def test_the_dead_band_keeps_a_shopper_in() -> None:
    eng = engine()
    feed(eng, "gw-1", NEAR_DBM, T0, 5)
    events = feed(eng, "gw-1", DEAD_BAND_DBM, T0 + 5, 60)
    assert [e for e in events if e.kind != "dwell"] == []
    assert eng.zone_of("s-1") == "baby"


def test_exit_fires_on_a_timer_without_further_adverts() -> None:
    """Silent after standing well inside: held while even the slowest walker could not have left
    (edge.presence_timing.hold_s: from under the scanner, the zone's exit radius at WALK_SPEED_MIN_M_S,
    plus an interval), then out with no further advert."""
    eng = engine()
    feed(eng, "gw-1", NEAR_DBM, T0, 5)
    last = T0 + 5 - 1 / HZ
    held_s = eng._zones["baby"].edge_m / WALK_SPEED_MIN_M_S  # NEAR_DBM: under the scanner, the radius to walk
    assert held_s > BABY.exit_timeout_s
    assert [e for e in eng.tick(last + held_s - 0.01) if e.kind == "exited"] == []
    at = last + held_s
    exits: list[PresenceEvent] = []
    while not exits and at < last + held_s + 1.0:  # the hold's interval on top: a learned 0.25-0.5 s
        at += 0.05
        exits = [e for e in eng.tick(at) if e.kind == "exited"]
    assert kinds(exits) == [("exited", "baby")]
    assert exits[0].dwell_s == pytest.approx(exits[0].at - T0, abs=1.0)
    assert eng.zone_of("s-1") is None
    assert eng.occupants() == []
    assert ticks(eng, exits[0].at, 60) == []


def test_walking_away_exits_at_the_next_tick_without_waiting_for_silence() -> None:
    eng = engine()
    feed(eng, "gw-1", NEAR_DBM, T0, 10)
    events = feed(eng, "gw-1", -90, T0 + 10, 6)
    exits = [e for e in events if e.kind == "exited"]
    assert kinds(exits) == [("exited", "baby")]
    assert exits[0].at - (T0 + 10) < BABY.exit_timeout_s
    assert eng.zone_of("s-1") is None


def test_one_deep_fade_in_ten_does_not_throw_a_shopper_out() -> None:
    eng = engine()
    feed(eng, "gw-1", NEAR_DBM, T0, 10)
    events: list[PresenceEvent] = []
    for i in range(40):
        at = T0 + 10 + i / HZ
        events += see(eng, "gw-1", -95 if i % 10 == 0 else NEAR_DBM, at)
        events += eng.tick(at)
    assert [e for e in events if e.kind != "dwell"] == []


def test_coming_straight_back_needs_a_steady_signal() -> None:
    """Just after leaving, a short burst at the edge of the zone does not re-enter it."""
    eng = engine()
    feed(eng, "gw-1", NEAR_DBM, T0, 10)
    feed(eng, "gw-1", -90, T0 + 10, 6)
    assert eng.zone_of("s-1") is None
    edge_dbm = round(enter_bar(BABY, CONFIG.presence.path_loss_exponent)) + 1
    burst: list[PresenceEvent] = []
    for i in range(3):
        burst += see(eng, "gw-1", edge_dbm, T0 + 16 + i / HZ)
    assert burst == []
    assert kinds(feed(eng, "gw-1", NEAR_DBM, T0 + 17, 5)) == [("entered", "baby")]


def test_dwell_events_come_every_dwell_interval() -> None:
    eng = engine()
    events = feed(eng, "gw-1", NEAR_DBM, T0, 35)
    dwells = [e for e in events if e.kind == "dwell"]
    assert len(dwells) == 3
    entered = events[0].at
    for n, dwell in enumerate(dwells, start=1):
        assert dwell.zone == "baby"
        assert dwell.at - entered == pytest.approx(n * BABY.dwell_interval_s, abs=1 / HZ)
        assert dwell.dwell_s == pytest.approx(dwell.at - entered)


# --- hand-off -----------------------------------------------------------------------------------


def _both(eng: PresenceEngine, baby_dbm: int, drinks_dbm: int, at: float) -> list[PresenceEvent]:
    out = see(eng, "gw-1", baby_dbm, at)
    out += see(eng, "gw-2", drinks_dbm, at + 0.001)
    return out + eng.tick(at + 0.002)


def test_no_hand_off_without_the_margin() -> None:
    eng = engine()
    feed(eng, "gw-1", -60, T0, 5)
    almost = round(-60 + DRINKS.handoff_margin_db) - 1
    events: list[PresenceEvent] = []
    for i in range(80):
        events += _both(eng, -60, almost, T0 + 5 + i / HZ)
    assert [e for e in events if e.kind != "dwell"] == []
    assert eng.zone_of("s-1") == "baby"


def test_hand_off_needs_the_margin_for_several_samples() -> None:
    eng = engine()
    feed(eng, "gw-1", -60, T0, 5)
    clearly = round(-60 + DRINKS.handoff_margin_db) + 6
    at = T0 + 5
    for _ in range(4):  # one sample short of handoff_samples, then one that does not lead
        for _ in range(DRINKS.handoff_samples - 1):
            assert _both(eng, -60, clearly, at) == []
            at += 1 / HZ
        assert _both(eng, -60, -90, at) == []
        at += 1 / HZ
    assert eng.zone_of("s-1") == "baby"
    events: list[PresenceEvent] = []
    leading = 0
    while not events and leading < 40:  # a dwell may come first: the fades count against the lead
        events = [e for e in _both(eng, -60, clearly, at) if e.kind != "dwell"]
        at += 1 / HZ
        leading += 1
    assert leading >= DRINKS.handoff_samples
    assert kinds(events) == [("exited", "baby"), ("entered", "drinks")]
    assert events[0].at == events[1].at
    assert eng.zone_of("s-1") == "drinks"


# --- consent and ignored scanners ---------------------------------------------------------------


def test_forget_drops_everything_and_emits_nothing() -> None:
    eng = engine()
    feed(eng, "gw-1", NEAR_DBM, T0, 5)
    feed(eng, "gw-2", NEAR_DBM, T0 + 5, 1, token="s-2")
    eng.forget("s-1")
    assert eng.zone_of("s-1") is None
    assert [o.token for o in eng.occupants()] == ["s-2"]
    assert all(e.token != "s-1" for e in ticks(eng, T0 + 6, 60))
    eng.forget("s-never-seen")  # harmless


def test_scanners_outside_every_zone_are_ignored() -> None:
    eng = engine()
    assert feed(eng, "gw-9", -40, T0, 10) == []
    assert eng.occupants() == []
    assert ticks(eng, T0 + 10, 30) == []


# --- edge.rssi ----------------------------------------------------------------------------------


def test_trimmed_mean_ignores_the_extremes() -> None:
    assert trimmed_mean([-60, -61, -59, -60, -95], 0.2) == pytest.approx((-61 - 60 - 60) / 3)
    assert trimmed_mean([-60.0], 0.2) == -60.0
    assert trimmed_mean([-60, -70], 0.2) == -65.0
    assert trimmed_mean([-60, -62, -95], 0.2, robust=True) == -62.0
    with pytest.raises(ValueError, match="no values"):
        trimmed_mean([], 0.2)


def test_the_window_ages_out_and_reads_its_recent_part() -> None:
    window = RssiWindow(3.0)
    for i in range(12):
        window.add(T0 + i * 0.25, -80 if i < 6 else -60)
    assert window.value(T0 + 2.75) == pytest.approx(-70, abs=3)
    assert window.value(T0 + 2.75, 1.4) == pytest.approx(-60)
    assert window.value(T0 + 2.75, 1.4, min_samples=8) is None
    assert window.last_at == T0 + 2.75
    assert window.value(T0 + 20) is None
    assert len(window) == 0
    assert window.last_at is None


def test_the_window_reaches_back_for_at_least_n_samples() -> None:
    window = RssiWindow(5.0)
    for i in range(8):  # a card at 2 Hz: -80 for 2 s, then -60
        window.add(T0 + i * 0.5, -80 if i < 4 else -60)
    now = T0 + 3.5
    assert window.level(now, 1.2) == (pytest.approx(-60), 3)
    value, used = window.level(now, 1.2, at_least=6)
    assert used == 6
    assert value == pytest.approx((-80 - 60 - 60 - 60) / 4)  # six samples, one trimmed at each end
    assert window.level(now, 1.2, at_least=50) == window.level(now)  # never beyond the window
    assert window.level(now, 1.2, min_samples=4) == (None, 0)


def test_the_window_keeps_at_most_max_samples() -> None:
    window = RssiWindow(10.0, max_samples=4)
    for i in range(10):
        window.add(T0 + i * 0.01, -50 - i)
    assert len(window) == 4
    assert window.value(T0 + 0.1) == pytest.approx(-57.5)


def test_distance_follows_the_log_distance_model() -> None:
    assert distance_m(-59, -59, 2.0) == pytest.approx(1.0)
    assert distance_m(-79, -59, 2.0) == pytest.approx(10.0)
    assert math.isclose(distance_m(-70, -59, 2.2), 10 ** (11 / 22))
    with pytest.raises(ValueError, match="path_loss_exponent"):
        distance_m(-70, -59, 0)
