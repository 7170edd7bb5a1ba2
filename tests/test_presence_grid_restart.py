"""A track whose evidence no cell of its window explains starts again around the scanner of its advert's loudest
reading (edge/presence_grid.py ``RESTART_LOUDEST``, session 49), not around the last scanner that heard it.

Readings of one advert from scanners too far apart to be heard from one place -- a reflection, a relayed advert, a
scanner placed wrong in the config -- used to put the window at whichever end of the contradiction spoke last, advert
after advert. Measured on the sweep's stores with such readings added to a share of the adverts (a scanner 20 m or
more from the loudest, 10-20 dB under it): 5 % of adverts, 12 cells x 2 seeds, capped badness 41.07 -> 34.46 and
spurious changes 385.6 -> 342.2 per shopper-hour summed; 2 %, 12 other cells x 2 other seeds: 53.02 -> 44.45 and
162.1 -> 106.0; without them every figure the same (one cell's right zone 95.75 -> 95.74 %)."""

from __future__ import annotations

import math

import pytest

from edge import presence_grid
from edge.presence import Sighting
from edge.presence_grid import GridEstimator
from edge.sim.sweep.cells import CELLS

START = 1_800_000_000.0
TICK_S = 0.25


def _contradicted(loudest_first: bool) -> tuple[float, float]:
    """Twenty adverts a second apart, each heard at -52 dBm by the entrance's scanner and at -78 dBm by the scanner
    30 m from it (no place hears both so); the loudest reading first or last. How far the shopper's window's centre
    is from the entrance's scanner, and the window's half width (both in grid cells)."""
    config = CELLS[0].layout.config()
    engine = GridEstimator(config.zones, config.presence, config.scanners, config.floor)
    places = {s.id: (s.x_m, s.y_m) for s in config.scanners}
    near = "scn-entrance"
    far = max(places, key=lambda s: math.dist(places[s], places[near]))
    assert math.dist(places[far], places[near]) >= 29.0
    readings = [(near, -52), (far, -78)] if loudest_first else [(far, -78), (near, -52)]
    tick = START
    for k in range(20):
        advert = START + k + 0.6
        while tick + TICK_S <= advert:
            tick += TICK_S
            engine.tick(tick)
        for scanner, rssi in readings:
            engine.observe(Sighting("tok-1", "eid", scanner, rssi, -59.0, advert))
    engine.tick(tick + TICK_S)
    windows = engine._windows
    xs, ys = engine._tracks["tok-1"].window
    centre = ((xs.start + xs.stop - 1) / 2, (ys.start + ys.stop - 1) / 2)
    return math.dist(centre, windows._at_cell[engine._scanner[near]]), windows.kx / 2


@pytest.mark.parametrize("loudest_first", [True, False])
def test_the_window_starts_again_at_the_loudest_reading(loudest_first: bool) -> None:
    off, half = _contradicted(loudest_first)
    assert off < half, (off, half)  # the entrance's scanner inside the window


def test_the_last_scanner_heard_was_where_it_started_again_before(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(presence_grid, "RESTART_LOUDEST", False)
    off, half = _contradicted(loudest_first=True)
    assert off > half, (off, half)  # around the far scanner, 30 m away


def test_the_sweep_adds_contradicting_readings_when_asked() -> None:
    """``benchmarks/presence_sweep.py --contradict-share``: every reading once, and for about that share of the
    adverts one more by a scanner that did not hear it, 20 m or more from the loudest one's, 10-20 dB under it; the
    same draw every time (every engine hears the same)."""
    from benchmarks.presence_sweep import CONTRADICT_FROM_M, contradicted
    from edge.sim.sweep import simulate

    run = simulate(CELLS[0], 1, minutes=2.0, shoppers=5)
    heard = contradicted(0.2)(run)
    assert heard == contradicted(0.2)(run)
    places = {s.id: (s.x_m, s.y_m) for s in CELLS[0].layout.config().scanners}
    adverts: dict[tuple[str, float], list[Sighting]] = {}
    for sighting in run.sightings:
        adverts.setdefault((sighting.token, sighting.at), []).append(sighting)
    extra = [s for _, s in heard if s not in run.sightings]
    assert len(heard) == len(run.sightings) + len(extra)
    assert 0.1 * len(adverts) < len(extra) < 0.3 * len(adverts)
    for ghost in extra:
        readings = adverts[(ghost.token, ghost.at)]
        loudest = max(readings, key=lambda s: s.rssi)
        assert ghost.scanner not in {s.scanner for s in readings}
        assert math.dist(places[ghost.scanner], places[loudest.scanner]) >= CONTRADICT_FROM_M
        assert 10 <= loudest.rssi - ghost.rssi <= 20
    assert [at for at, _ in heard] == sorted(at for at, _ in heard)
