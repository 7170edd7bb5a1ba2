"""An entry just after leaving a neighbouring zone is judged as that zone's hand-off (edge.presence).

Walking from one zone into the next, the old zone's slow level often falls below its exit threshold
just before the new zone's fast level leads it by the hand-off margin: the engine exits first, and the
entry that follows must not wait for the lead demanded of a shopper coming from the aisle.
"""

from __future__ import annotations

from edge import constants as c
from edge.config import from_mapping
from edge.presence import PresenceEngine, PresenceEvent, Sighting
from edge.presence_reach import enter_bar
from edge.presence_timing import HANDOFF_AFTER_EXIT_S

CONFIG = from_mapping({"zones": [{"id": "baby", "scanners": ["gw-1"]}, {"id": "drinks", "scanners": ["gw-2"]}]})
BABY, DRINKS = CONFIG.zones
T0 = 1_795_428_000.0
HZ = 4.0
NEW_DBM = round(enter_bar(DRINKS, CONFIG.presence.path_loss_exponent)) + 3
"""The new zone, well above its enter threshold..."""
OLD_DBM = NEW_DBM - round(c.ENTER_LEAD_DB) + 1
"""...leading the old zone's scanner by more than the hand-off margin, less than the aisle lead."""


def walk(eng: PresenceEngine, levels: tuple[int, int], start: float, seconds: float, token: str) -> list[PresenceEvent]:
    out: list[PresenceEvent] = []
    for i in range(int(seconds * HZ)):
        at = start + i / HZ
        out += eng.observe(Sighting(token, "ibeacon", "gw-1", levels[0], -59.0, at))
        out += eng.observe(Sighting(token, "ibeacon", "gw-2", levels[1], -59.0, at + 0.01))
        out += eng.tick(at + 0.02)
    return out


def kinds(events: list[PresenceEvent]) -> list[tuple[str, str]]:
    return [(e.kind, e.zone) for e in events if e.kind != "dwell"]


def test_entering_the_next_zone_just_after_leaving_one_needs_the_hand_off_margin_only() -> None:
    assert DRINKS.handoff_margin_db < NEW_DBM - OLD_DBM < c.ENTER_LEAD_DB
    eng = PresenceEngine(CONFIG.zones, CONFIG.presence)
    assert kinds(walk(eng, (-55, -85), T0, 10, "s-1")) == [("entered", "baby")]
    at = T0 + 10
    gap: list[PresenceEvent] = []
    while not gap:  # in the gap between the two zones: the old zone's slow level falls, it exits
        gap = walk(eng, (-80, -85), at, 1 / HZ, "s-1")
        at += 1 / HZ
    assert kinds(gap) == [("exited", "baby")]
    events = walk(eng, (OLD_DBM, NEW_DBM), at, 4, "s-1")
    assert kinds(events) == [("entered", "drinks")]
    assert events[0].at - gap[0].at < HANDOFF_AFTER_EXIT_S


def test_the_same_levels_from_the_aisle_enter_nowhere() -> None:
    """A shopper not coming from the neighbouring zone still needs the aisle lead (ENTER_LEAD_DB)."""
    eng = PresenceEngine(CONFIG.zones, CONFIG.presence)
    assert kinds(walk(eng, (OLD_DBM, NEW_DBM), T0, 20, "s-1")) == []


def test_long_after_leaving_the_entry_is_from_the_aisle_again() -> None:
    eng = PresenceEngine(CONFIG.zones, CONFIG.presence)
    walk(eng, (-55, -85), T0, 10, "s-1")
    gone, out = T0 + 10, []
    while not out and gone < T0 + 40:  # silent: out after the zone's timer, or the hold (edge.presence_timing.hold_s)
        gone += 0.25
        out = eng.tick(gone)
    assert kinds(out) == [("exited", "baby")]
    assert kinds(walk(eng, (OLD_DBM, NEW_DBM), gone + HANDOFF_AFTER_EXIT_S, 20, "s-1")) == []
