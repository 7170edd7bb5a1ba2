"""Silence after a strong reading is a pause, not an exit (the threshold engine, edge.presence_timing.hold_s).

A phone that stops advertising for a few seconds while its shopper stands well inside a zone (an OS
dozing the app, a call) keeps its visit: even the slowest walker (WALK_SPEED_MIN_M_S) could not have
crossed from where its level placed them to the zone's exit radius in that time. At the zone's edge
the same silence ends the visit as before (the loss rule and the zone's timer). A pause once heard (a
silence at every scanner, heard near a scanner on a side of it) holds later silences as long. A shopper
who walks out during a pause is let go on the weak level as soon as the phone is heard again, not at
the end of the hold; and a phone that stops for good still exits, at the hold's end. Pure core, clock
injected (sighting times and ticks).
"""

from __future__ import annotations

import pytest

from edge import constants as c
from edge import constants_model as cm
from edge import presence_timing as pt
from edge.config import from_mapping
from edge.presence import PresenceEngine, PresenceEvent, Sighting

CONFIG = from_mapping({"zones": [{"id": "baby", "scanners": ["gw-1"]}, {"id": "drinks", "scanners": ["gw-2"]}]})
T0 = 1_795_428_000.0
TICK_S = 0.25
HZ = 4.0
INSIDE_DBM = -55
"""Right under the scanner (0.7 m in 3-D, below its 0.8 m over the phone): the whole exit radius
(4.5 m) to walk, 7.5 s at the slowest pace."""
EDGE_DBM = -70
"""3.1 m across: 1.4 m to the exit radius, 2.4 s at the slowest pace -- under the loss rule's limit."""
FAR_DBM = -90
"""The other zone's scanner, far off."""
OUT_DBM = -82
"""Walked out: well under the exit threshold (-73.5 dBm)."""


def engine() -> PresenceEngine:
    return PresenceEngine(CONFIG.zones, CONFIG.presence)


def heard(eng: PresenceEngine, level: int, start: float, seconds: float, token: str = "s-1") -> list[PresenceEvent]:
    """A 4 Hz phone heard at ``level`` by the zone's scanner (and faintly by the other zone's) for
    ``seconds`` from ``start``, the timers ticked every TICK_S as the gateway does."""
    events: list[PresenceEvent] = []
    n = round(seconds * HZ)
    for i in range(n):
        at = start + i / HZ
        events += eng.observe(Sighting(token, "ibeacon", "gw-1", level, -59.0, at))
        events += eng.observe(Sighting(token, "ibeacon", "gw-2", FAR_DBM, -59.0, at + 0.01))
        if i % round(TICK_S * HZ) == 0:
            events += eng.tick(at + 0.02)
    return events


def silent(eng: PresenceEngine, start: float, seconds: float) -> list[PresenceEvent]:
    """Nothing heard for ``seconds`` from ``start``: only the ticks."""
    events: list[PresenceEvent] = []
    t = start
    while t < start + seconds:
        t += TICK_S
        events += eng.tick(t)
    return events


def changes(events: list[PresenceEvent]) -> list[tuple[str, str]]:
    return [(e.kind, e.zone) for e in events if e.kind != "dwell"]


def test_a_pause_well_inside_keeps_the_visit() -> None:
    """6 s of silence at -55 dBm: no exit, no re-entry (the old rule let go after the 4 s timer)."""
    eng = engine()
    events = heard(eng, INSIDE_DBM, T0, 30)
    events += silent(eng, T0 + 30, 6.0)
    events += heard(eng, INSIDE_DBM, T0 + 36, 20)
    assert changes(events) == [("entered", "baby")]
    assert eng.zone_of("s-1") == "baby"


def test_the_same_pause_at_the_zones_edge_ends_the_visit() -> None:
    """A faded level: the shopper may well have stepped out; the loss rule and the timer decide, as before."""
    eng = engine()
    events = heard(eng, EDGE_DBM, T0, 30)
    assert changes(events) == [("entered", "baby")]
    out = [e for e in silent(eng, T0 + 30, 6.0) if e.kind != "dwell"]
    assert changes(out) == [("exited", "baby")]
    assert out[0].at - (T0 + 30 - 1 / HZ) <= CONFIG.zones[0].exit_timeout_s + TICK_S


def test_a_pause_once_heard_holds_the_next_silence_as_long() -> None:
    """At the edge a 9 s pause ends the visit once; heard again near the scanner after it, it is this
    phone's pause, and the next 9 s silence (at the edge again) keeps the visit."""
    eng = engine()
    events = heard(eng, EDGE_DBM, T0, 30)
    events += silent(eng, T0 + 30, 9.0)
    assert changes(events) == [("entered", "baby"), ("exited", "baby")]
    events = heard(eng, EDGE_DBM, T0 + 39, 30)
    assert changes(events) == [("entered", "baby")]
    events = silent(eng, T0 + 69, 9.0)
    events += heard(eng, EDGE_DBM, T0 + 78, 10)
    assert changes(events) == []
    assert eng.zone_of("s-1") == "baby"


def test_walking_out_during_a_pause_exits_on_the_weak_level_not_the_hold() -> None:
    """Right under the scanner, then 5 s silent while walking away: heard again at -82 dBm, out within
    about a second (EXIT_MIN_SAMPLES adverts), long before the 7.5 s hold would have let go."""
    eng = engine()
    events = heard(eng, INSIDE_DBM, T0, 30)
    events += silent(eng, T0 + 30, 5.0)
    assert changes(events) == [("entered", "baby")]
    back = T0 + 35
    out = [e for e in heard(eng, OUT_DBM, back, 3) if e.kind != "dwell"]
    assert changes(out) == [("exited", "baby")]
    assert out[0].at - back <= (c.EXIT_MIN_SAMPLES + 1) / HZ + TICK_S


def test_a_phone_that_stops_for_good_still_exits_at_the_holds_end() -> None:
    """Bounded: from under the scanner, the exit radius at the slowest pace plus an interval."""
    eng = engine()
    heard(eng, INSIDE_DBM, T0, 30)
    last = T0 + 30 - 1 / HZ
    out = [e for e in silent(eng, T0 + 30, 30.0) if e.kind != "dwell"]
    assert changes(out) == [("exited", "baby")]
    edge_m = eng._zones["baby"].edge_m
    assert out[0].at - last == pytest.approx(edge_m / pt.WALK_SPEED_MIN_M_S + 1 / HZ, abs=2 * TICK_S)
    assert out[0].at - last > CONFIG.zones[0].exit_timeout_s


def test_the_hold_follows_the_level_and_the_pause() -> None:
    """hold_s: the walk from where the level places the shopper to the exit radius, at the slowest
    pace; none at or beyond the radius; a longer pause heard takes its place."""
    ref, n, above = -59.0, 2.2, 0.8
    edge_m = pt.edge_radius_m(ref, -73.5, n, above)
    assert 4.4 < edge_m < 4.6  # the default exit threshold (3.9 m in 3-D) under a 2 m scanner
    holds = [pt.hold_s(level, edge_m, above, ref, n, 0.0) for level in (-50.0, -58.0, -64.0, -70.0, -73.5, -80.0)]
    assert holds == sorted(holds, reverse=True)
    assert holds[0] == pytest.approx(edge_m / pt.WALK_SPEED_MIN_M_S)  # under the scanner: the whole radius
    assert holds[-2] == pytest.approx(0.0, abs=1e-9)
    assert holds[-1] == 0.0
    assert pt.hold_s(-70.0, edge_m, above, ref, n, 9.0) == 9.0


def test_only_a_silence_at_every_scanner_near_one_is_a_pause() -> None:
    """pause_of: heard near a scanner on a side of it (not faint both sides: out of range and back),
    longer than SILENCE_MIN_S and no longer than out of range (MODEL_GAP_MAX_S)."""
    assert pt.pause_of(6.0, True, True) == 6.0
    assert pt.pause_of(6.0, True, False) == 6.0
    assert pt.pause_of(6.0, False, False) == 0.0
    assert pt.pause_of(pt.SILENCE_MIN_S - 0.1, True, True) == 0.0
    assert pt.pause_of(cm.MODEL_GAP_MAX_S + 1.0, True, True) == 0.0
