"""A slow card walking away (the threshold engine after the sure exit, issue #13).

A loyalty card advertising at 0.5 Hz has its slow level reach back for EXIT_SLOW_SAMPLES of its
adverts (its window stretched to 12 s): that mean lags a walker by about 6 s, and the sure exit
(edge.presence_sure) waited for it. Now the line through the card's samples, read at the present,
decides alone for such an advertiser when it lies TREND_T standard errors under the exit threshold.
Pure core, clock injected (sighting times and ticks); the card loses a fifth of its adverts and is
shadowed 5 dB per advert, as edge/sim/radio.py does.
"""

from __future__ import annotations

import math
import random

from edge.config import from_mapping
from edge.presence import PresenceEngine, PresenceEvent, Sighting
from edge.presence_sure import present_level
from edge.presence_timing import TREND_NOISE_MIN_DB
from edge.rssi import RssiWindow

T0 = 1_795_428_000.0
HZ = 0.5
"""The slowest card of the sweep's advertisers ([33] cards at 0.5 Hz only)."""
POWER_1M_DBM = -59.0
EXPONENT = 2.2
SHADOWING_DB = 5.0
LOSS = 0.2
"""Share of adverts no scanner hears (edge/sim/sweep/radio.py's miss)."""
ABOVE_M = 1.0
"""The scanner over the phone's height."""
STAND_S = 60.0
"""At the shelf, 1 m from the scanner, long enough for the engine to learn the card's interval."""
WALK_M_S = 1.0
EDGE_M = 3.0
"""The default zone's exit radius (across the floor)."""
TICK_S = 0.1


def engine() -> PresenceEngine:
    loaded = from_mapping(
        {"zones": [{"id": "baby", "scanners": ["gw-1"]}], "scanners": [{"id": "gw-1", "x_m": 0.0, "y_m": 0.0}]}
    )
    return PresenceEngine(list(loaded.zones), loaded.presence, loaded.scanners)


def rssi(across_m: float, rng: random.Random) -> int:
    distance = math.hypot(across_m, ABOVE_M)
    return round(POWER_1M_DBM - 10.0 * EXPONENT * math.log10(distance) + rng.gauss(0.0, SHADOWING_DB))


def walk_away(seed: int) -> tuple[list[PresenceEvent], float]:
    """Stand at the shelf, then walk straight out to 16 m; the events and when the zone's edge was crossed."""
    rng = random.Random(seed)
    eng = engine()
    events: list[PresenceEvent] = []
    standing = int(STAND_S * HZ)
    i = 0
    while True:
        at = T0 + i / HZ
        across = 1.0 if i < standing else 1.0 + WALK_M_S * (i - standing) / HZ
        if across > 16.0:
            break
        if rng.random() >= LOSS:
            events += eng.observe(Sighting("s-1", "ibeacon", "gw-1", rssi(across, rng), POWER_1M_DBM, at))
        tick = at
        while tick < at + 1.0 / HZ - 1e-9:
            tick += TICK_S
            events += eng.tick(tick)
        i += 1
    return [e for e in events if e.kind != "dwell"], T0 + STAND_S + (EDGE_M - 1.0) / WALK_M_S


def test_a_slow_card_walking_away_leaves_within_its_walk() -> None:
    """20 walkers: each visit ends before the card is 16 m out, 8 s after the edge on average.

    Before (the slow level's gate): one of the 20 was still in the zone at 16 m, the others 8.7 s on
    average; now every one is out, 7.4 s on average."""
    late: list[float] = []
    for seed in range(20):
        events, edge_at = walk_away(seed)
        assert [e.kind for e in events][:1] == ["entered"], seed
        exits = [e.at for e in events if e.kind == "exited"]
        assert exits, f"seed {seed}: still in the zone at 16 m"
        late.append(exits[0] - edge_at)
    assert sum(late) / len(late) <= 8.0


def test_a_slow_card_standing_at_the_shelf_keeps_one_visit() -> None:
    """Ten minutes at 1 m: the line alone never says the card left."""
    for seed in range(5):
        rng = random.Random(seed)
        eng = engine()
        events: list[PresenceEvent] = []
        for i in range(int(600 * HZ)):
            at = T0 + i / HZ
            if rng.random() >= LOSS:
                events += eng.observe(Sighting("s-1", "ibeacon", "gw-1", rssi(1.0, rng), POWER_1M_DBM, at))
            events += eng.tick(at + 1.0 / HZ - TICK_S)
        assert [e.kind for e in events if e.kind != "dwell"] == ["entered"], seed


def test_samples_are_the_windows_own() -> None:
    """RssiWindow.samples: what the window holds (aged, capped), as new lists."""
    window = RssiWindow(2.0, max_samples=3)
    for i in range(6):
        window.add(T0 + i * 0.5, -60.0 - i)
    ats, rssis = window.samples()
    assert ats == [T0 + 1.5, T0 + 2.0, T0 + 2.5]
    assert rssis == [-63.0, -64.0, -65.0]
    ats.clear()
    assert len(window) == 3
    window.level(T0 + 4.2)  # ages the window to the present
    assert window.samples() == ([T0 + 2.5], [-65.0])


def test_the_spread_has_a_floor() -> None:
    """Samples exactly on a line (a peer's summary rebuilt) still carry the least shadowing of an advert."""
    window = RssiWindow(5.0)
    for i in range(5):
        window.add(T0 + i, -60.0 - i)
    found = present_level(window, T0 + 4.0)
    assert found is not None
    level, error = found
    assert level == -64.0
    assert error == TREND_NOISE_MIN_DB * math.sqrt(1.0 / 5 + 4.0 / 10.0)
