"""The hand-off an exit pre-empted: its count survives the exit, a third zone is read over the slow
window, and a clear trend shortens its hold (edge.presence, issue #18).

Three zones in a row, as in benchmarks/multi_gateway.py. A shopper walking from the first into the
second is often let go by the first zone (its slow level falls under the exit threshold) a sample before
the hand-off's count is reached. The entry that follows is that hand-off: it finishes on the samples
still due, the aisle lead (ENTER_LEAD_DB) it asks of a third zone's scanner is judged on that
scanner's slow level (RSSI_WINDOW_S, robust) rather than on the few samples of its fast level, which
withheld the lead for seconds, and it holds for TREND_HOLD_SAMPLES while the old zone's level visibly
falls and the new one's rises (docs/multi-gateway.md, "The threshold engine's slow hand-offs").
"""

from __future__ import annotations

from edge import constants as c
from edge.config import from_mapping
from edge.presence import PresenceEngine, PresenceEvent, Sighting
from edge.presence_reach import enter_bar
from edge.presence_timing import HANDOFF_AFTER_EXIT_S

CONFIG = from_mapping(
    {
        "zones": [
            {"id": "baby", "scanners": ["gw-1"]},
            {"id": "drinks", "scanners": ["gw-2"]},
            {"id": "bakery", "scanners": ["gw-3"]},
        ]
    }
)
BABY, DRINKS, BAKERY = CONFIG.zones
SCANNERS = ("gw-1", "gw-2", "gw-3")
T0 = 1_795_428_000.0
HZ = 4.0
NEW_DBM = round(enter_bar(DRINKS, CONFIG.presence.path_loss_exponent)) + 3
"""The new zone, well above its enter threshold..."""
FAR_DBM = NEW_DBM - round(DRINKS.handoff_margin_db) - 2
"""...leading the zone just left and a third zone by more than the hand-off margin, less than the
aisle lead."""


def walk(
    eng: PresenceEngine, levels: tuple[int, int, int], start: float, seconds: float, token: str = "s-1"
) -> list[PresenceEvent]:
    """``seconds`` of adverts at HZ heard by the three scanners (in turn), the engine ticked after each."""
    out: list[PresenceEvent] = []
    for i in range(round(seconds * HZ)):
        at = start + i / HZ
        for k, (scanner, rssi) in enumerate(zip(SCANNERS, levels, strict=True)):
            out += eng.observe(Sighting(token, "ibeacon", scanner, rssi, -59.0, at + k * 0.01))
        out += eng.tick(at + 0.04)
    return out


def kinds(events: list[PresenceEvent]) -> list[tuple[str, str]]:
    return [(e.kind, e.zone) for e in events if e.kind != "dwell"]


def leave_baby(eng: PresenceEngine, third: int) -> tuple[float, PresenceEvent]:
    """In the first zone for 10 s, then in the 1 m between it and the next until its exit fires; the
    third zone's scanner reads ``third`` all along."""
    assert kinds(walk(eng, (-55, -80, third), T0, 10)) == [("entered", "baby")]
    at = T0 + 10
    gap: list[PresenceEvent] = []
    while not gap:
        gap = walk(eng, (-80, -80, third), at, 1 / HZ)
        at += 1 / HZ
    assert kinds(gap) == [("exited", "baby")]
    return at, gap[0]


def test_a_third_zone_heard_only_since_the_exit_is_judged_on_its_slow_level() -> None:
    """The third zone's scanner, unheard (-90 dBm) while the shopper was in the first zone, reads FAR_DBM
    from the exit on: its fast level is within the aisle lead of the new zone's, its slow level not."""
    assert DRINKS.handoff_margin_db < NEW_DBM - FAR_DBM < c.ENTER_LEAD_DB
    eng = PresenceEngine(CONFIG.zones, CONFIG.presence)
    at, exited = leave_baby(eng, -90)
    events = walk(eng, (FAR_DBM, NEW_DBM, FAR_DBM), at, HANDOFF_AFTER_EXIT_S)
    assert kinds(events) == [("entered", "drinks")]
    assert events[0].at - exited.at < HANDOFF_AFTER_EXIT_S
    assert eng.zone_of("s-1") == "drinks"  # one zone at a time


def test_a_third_zone_heard_as_loud_all_along_still_holds_the_entry() -> None:
    """A third zone whose slow level is within the aisle lead of the new zone's (the shopper may be
    between the two) holds the entry, however the shopper came."""
    eng = PresenceEngine(CONFIG.zones, CONFIG.presence)
    at, _ = leave_baby(eng, FAR_DBM)
    assert kinds(walk(eng, (FAR_DBM, NEW_DBM, FAR_DBM), at, HANDOFF_AFTER_EXIT_S)) == []


def test_from_the_aisle_the_third_zone_still_needs_the_aisle_lead() -> None:
    """Not just out of a neighbouring zone (nothing left, or left long ago): the aisle lead over every scanner."""
    eng = PresenceEngine(CONFIG.zones, CONFIG.presence)
    assert kinds(walk(eng, (FAR_DBM, NEW_DBM, FAR_DBM), T0, 20)) == []
    eng = PresenceEngine(CONFIG.zones, CONFIG.presence)
    at, _ = leave_baby(eng, -90)
    assert kinds(walk(eng, (-90, -90, -90), at, HANDOFF_AFTER_EXIT_S)) == []
    assert kinds(walk(eng, (FAR_DBM, NEW_DBM, FAR_DBM), at + HANDOFF_AFTER_EXIT_S, 20)) == []


def test_a_hand_off_counting_when_the_exit_fires_finishes_on_the_samples_still_due() -> None:
    """The old zone's scanner drops to FAR_DBM; the new zone is heard at NEW_DBM from 0.75 s later. Its
    hand-off count has begun when the old zone's slow level crosses the exit threshold: the exit fires,
    and the entry is that hand-off's next sample, not a count started afresh (handoff_samples more)."""
    eng = PresenceEngine(CONFIG.zones, CONFIG.presence)
    assert kinds(walk(eng, (-55, -80, -90), T0, 10)) == [("entered", "baby")]
    events = walk(eng, (FAR_DBM, -80, -90), T0 + 10, 0.75)
    events += walk(eng, (FAR_DBM, NEW_DBM, -90), T0 + 10.75, 3)
    assert kinds(events) == [("exited", "baby"), ("entered", "drinks")]
    exited, entered = events[0], events[1]
    # the exit first (the slow level) -- or the hand-off's pair, its sequential test passing as early
    assert entered.at >= exited.at
    assert entered.at - exited.at < (DRINKS.handoff_samples - 1) / HZ


def test_on_a_clear_trend_the_entry_after_the_exit_holds_for_fewer_samples() -> None:
    """10 s in the first zone, then walking over: its scanner falls 4 dB/s, the next one's rises 3 dB/s
    (the third unheard). The first zone exits first; the entry that follows, the old level falling and
    the new rising TREND_T standard errors apart, needs fewer than ``handoff_samples`` samples."""
    eng = PresenceEngine(CONFIG.zones, CONFIG.presence)
    events: list[PresenceEvent] = []
    for i in range(int(18 * HZ)):
        at = T0 + i / HZ
        walked_s = max(0.0, at - T0 - 10)
        levels = (round(-60 - 4.0 * walked_s), round(-85 + 3.0 * walked_s), -95)
        events += walk(eng, levels, at, 1 / HZ)
    assert kinds(events) == [("entered", "baby"), ("exited", "baby"), ("entered", "drinks")]
    exited, entered = (e for e in events[1:] if e.kind != "dwell")
    assert 0 < entered.at - exited.at < (DRINKS.handoff_samples - 1) / HZ
