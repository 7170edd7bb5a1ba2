"""An exit on the level only once it is sure (the threshold engine, edge.presence_sure).

A shopper standing at a default zone's edge reads about -70 dBm (3.5 dB over EXIT_RSSI_DBM) with
5 dB of shadowing per advert: the slow level (a trimmed mean of 3 s) dips under the exit threshold now
and then, and before this rule every dip was an exit and a re-entry seconds later. Now the level *now*
-- the least-squares line through the scanner's recent samples, read at the present -- must be under
the threshold by one standard error of it. A walker's falling line is, at once; a standing shopper's
flat line is not. Pure core, clock injected (sighting times and ticks).
"""

from __future__ import annotations

import random

import pytest

from edge import constants as c
from edge.config import from_mapping
from edge.presence import PresenceEngine, PresenceEvent, Sighting
from edge.presence_sure import present_level, sure_out
from edge.rssi import RssiWindow

T0 = 1_795_428_000.0
HZ = 4.0
STRONG_DBM = -62.0
"""Walking in near the scanner: well over the enter bar."""
EDGE_DBM = -70.0
"""Standing at the default zone's edge (3 m across, 3.1 m in 3-D): about -69.8 dBm by the path-loss relation."""
SHADOWING_DB = 5.0
"""Per-advert shadowing, as edge/sim/radio.py takes it."""


def engine() -> PresenceEngine:
    loaded = from_mapping(
        {"zones": [{"id": "baby", "scanners": ["gw-1"]}], "scanners": [{"id": "gw-1", "x_m": 0.0, "y_m": 0.0}]}
    )
    return PresenceEngine(list(loaded.zones), loaded.presence, loaded.scanners)


def heard(eng: PresenceEngine, levels: list[float]) -> list[PresenceEvent]:
    """A 4 Hz phone heard at ``levels`` in turn, the timers ticked after each advert."""
    events: list[PresenceEvent] = []
    for i, level in enumerate(levels):
        at = T0 + i / HZ
        events += eng.observe(Sighting("s-1", "ibeacon", "gw-1", round(level), -59.0, at))
        events += eng.tick(at + 0.01)
    return [e for e in events if e.kind != "dwell"]


def standing(seed: int, seconds: float = 60.0) -> list[float]:
    """Walk in strong for 5 s, then stand at the edge for ``seconds``, shadowed."""
    rng = random.Random(seed)
    return [STRONG_DBM] * 20 + [EDGE_DBM + rng.gauss(0.0, SHADOWING_DB) for _ in range(int(seconds * HZ))]


def test_a_dip_at_the_edge_is_not_an_exit() -> None:
    """Seed 2: the slow level dips under -73.5 dBm; the old rule split the visit, the level now is not surely out."""
    events = heard(engine(), standing(2))
    assert [(e.kind, e.zone) for e in events] == [("entered", "baby")]


def test_standing_at_the_edge_splits_far_less() -> None:
    """Over 20 shoppers standing a minute each at the edge: 11 exits before (each a split visit), 3 now."""
    exits = sum(1 for seed in range(20) for e in heard(engine(), standing(seed)) if e.kind == "exited")
    assert exits <= 5


def slow_crossing(levels: list[float]) -> float:
    """When the slow level (as the engine reads it) first falls under EXIT_RSSI_DBM, a window after entering."""
    window = RssiWindow(c.RSSI_HISTORY_S)
    for i, level in enumerate(levels):
        at = T0 + i / HZ
        window.add(at, round(level))
        slow = window.level(at, c.RSSI_WINDOW_S, 1, c.EXIT_SLOW_SAMPLES, True)[0]
        if i >= 20 and slow is not None and slow < c.EXIT_RSSI_DBM:
            return at
    raise AssertionError("never crossed")


@pytest.mark.parametrize("seed", range(5))
def test_a_walker_leaves_when_the_slow_level_crosses(seed: int) -> None:
    """Walking away (0.5 dB an advert, 2 dB/s), shadowed: the exit fires at the tick after the slow level
    crosses the exit threshold, as before -- the falling line is under it by more than its error."""
    rng = random.Random(seed)
    levels = [STRONG_DBM] * 20 + [STRONG_DBM - 0.5 * i + rng.gauss(0.0, SHADOWING_DB) for i in range(80)]
    events = heard(engine(), levels)
    assert [e.kind for e in events] == ["entered", "exited"]
    assert events[1].at == pytest.approx(slow_crossing(levels) + 0.01)


def test_the_present_level_of_a_line() -> None:
    """Samples on a line (-1 dB/s plus an alternating 1 dB): read at the present, its end; the error from
    the spread's floor (TREND_NOISE_MIN_DB, 3 dB: the 1 dB about the line is steadier than any advert), 1.29 dB."""
    window = RssiWindow(c.RSSI_HISTORY_S)
    for i in range(20):
        window.add(T0 + i / HZ, -60.0 - i / HZ + (1.0 if i % 2 else -1.0))
    found = present_level(window, T0 + 19 / HZ)
    assert found is not None
    level, error = found
    assert level == pytest.approx(-60.0 - 19 / HZ, abs=0.5)
    assert error == pytest.approx(1.29, abs=0.01)
    assert sure_out(window, T0 + 19 / HZ, bar_dbm=-63.0, offset_db=0.0)  # -64.61 under -63.0 by more than 1.29
    assert not sure_out(window, T0 + 19 / HZ, bar_dbm=-64.0, offset_db=0.0)  # under it, not by an error
    assert not sure_out(window, T0 + 19 / HZ, bar_dbm=-65.0, offset_db=0.0)  # over it
    assert sure_out(window, T0 + 19 / HZ, bar_dbm=-65.0, offset_db=-2.0)  # a loud sender, shifted to the reference
    assert not sure_out(window, T0 + 19 / HZ, bar_dbm=-63.0, offset_db=0.0, errors=2.0)  # two errors: 2.59 dB


def test_a_flat_lines_error_is_about_twice_the_means() -> None:
    """Flat samples (a shopper standing): the line read at the newest sample has about twice the standard
    error of their mean -- the price of not knowing the shopper stands."""
    rng = random.Random(1)
    window = RssiWindow(c.RSSI_HISTORY_S)
    values = [-70.0 + rng.gauss(0.0, SHADOWING_DB) for _ in range(20)]
    for i, value in enumerate(values):
        window.add(T0 + i / HZ, value)
    found = present_level(window, T0 + 19 / HZ)
    assert found is not None
    mean = sum(values) / len(values)
    sd = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5
    assert found[1] / (sd / len(values) ** 0.5) == pytest.approx(2.0, abs=0.4)


def test_too_few_samples_are_never_sure() -> None:
    window = RssiWindow(c.RSSI_HISTORY_S)
    window.add(T0, -90.0)
    window.add(T0 + 0.25, -90.0)
    assert present_level(window, T0 + 0.25) is None
    assert not sure_out(window, T0 + 0.25, bar_dbm=-73.5, offset_db=0.0)
