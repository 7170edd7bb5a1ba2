"""An advert's silences tempered as its readings are, by the gap to the shopper's advert before
(edge/presence_grid_radio.py ``TEMPER_SILENCES``, ``COHERENCE_S``; docs/presence.md, "The grid's silences, tempered
like its readings (session 20)"). A real sweep store, the sightings from a seeded radio; pure."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from edge import presence_grid_radio
from edge.presence import Sighting
from edge.presence_grid import GridEstimator
from edge.presence_grid_radio import TEMPER_LEVELS, temper_level
from edge.sim.sweep.cells import CELLS
from edge.sim.sweep.judge import TICK_S

T0 = 1_795_428_000.0


def _engine() -> GridEstimator:
    config = CELLS[30].layout.config(floor=True)  # the app at 10 Hz, today's store
    return GridEstimator(config.zones, config.presence, config.scanners, config.floor)


@pytest.mark.parametrize("gap", [0.1, 0.17, 0.25, 0.5])
def test_an_adverts_silences_count_as_much_as_its_gap_to_the_one_before(gap: float) -> None:
    """A shopper heard by scn-produce alone, twice ``gap`` s apart: the first advert's silences count fully (no
    advert before it), the second's as a reading ``gap`` s after the last counts -- the silence of every other
    scanner raised to temper_level(gap) / TEMPER_LEVELS (10 Hz 1/2, 6 Hz 3/4, 4 Hz 7/8, 2 Hz fully)."""
    engine = _engine()
    engine.observe(Sighting("tok", "ibeacon", "scn-produce", -62, -59, T0))
    track = engine._tracks["tok"]
    assert track.quiet == TEMPER_LEVELS
    engine.observe(Sighting("tok", "ibeacon", "scn-produce", -62, -59, T0 + gap))  # (closes the first advert)
    level = temper_level(gap)
    assert track.quiet == level
    assert level == {0.1: 4, 0.17: 6, 0.25: 7, 0.5: 8}[gap]
    before = track.state.copy()
    engine._close(track)
    x0, y0 = track.origin
    silence = engine._evidence._silence(1 << 1, track.key)[x0 : x0 + engine._kx, y0 : y0 + engine._ky]
    assert np.allclose(track.state, before * silence ** (level / TEMPER_LEVELS))
    assert np.all(track.state <= before + 1e-15)  # (a silence never adds mass to a cell)


def _stand(temper: bool, seed: int, monkeypatch: pytest.MonkeyPatch) -> tuple[int, float]:
    """Two minutes of a shopper standing at (20.0, 3.1) with a 10 Hz app (the sweep's [30], seed 3): 1.3 m from
    scn-produce, 15.05 m (3-D) from scn-entrance and scn-checkout-b -- just beyond both ranges, so they never hear
    it while the cells by the wall are within their ranges by a share under 1. Readings from the sweep's radio
    (exponent 2.2, 5 dB shadowing, 20 % of adverts missed); the zone's exits and its lowest share."""
    monkeypatch.setattr(presence_grid_radio, "TEMPER_SILENCES", temper)
    config = CELLS[30].layout.config(floor=True)
    engine = GridEstimator(config.zones, config.presence, config.scanners, config.floor)
    rng = random.Random(seed)
    at, tick, exits, lowest = T0, T0 + TICK_S, 0, 1.0
    while at < T0 + 120.0:
        for s in config.scanners:
            d = math.sqrt((s.x_m - 20.0) ** 2 + (s.y_m - 3.1) ** 2 + (s.height_m - 1.2) ** 2)
            rssi = -59.0 - 22.0 * math.log10(d) + rng.gauss(0.0, 5.0)
            if d <= 15.0 and rng.random() >= 0.2 and rssi >= -95.0:
                engine.observe(Sighting("tok", "ibeacon", s.id, round(rssi), -59, at))
        at += 0.1 + rng.uniform(0.0, 0.01)
        while tick <= at:
            exits += sum(e.kind == "exited" for e in engine.tick(tick))
            if tick >= T0 + 5.0:
                lowest = min(lowest, engine.posterior("tok").get("produce", 0.0))
            tick += TICK_S
    return exits, lowest


def test_a_standing_10_hz_shoppers_silences_no_longer_outweigh_its_readings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ten silences a second at full weight pulled the mass of a shopper standing by scn-produce toward the wall
    cells the two far scanners hear least (the lowest produce share of ten runs 0.52 on average, 0.005 at worst; four
    exits in three runs); tempered like readings, the same runs keep produce at 0.82-0.97 and never leave it."""
    full = [_stand(False, seed, monkeypatch) for seed in range(1, 11)]
    tempered = [_stand(True, seed, monkeypatch) for seed in range(1, 11)]
    assert sum(exits for exits, _ in tempered) == 0
    assert sum(exits for exits, _ in full) >= 1
    low_full = sum(low for _, low in full) / len(full)
    low_tempered = sum(low for _, low in tempered) / len(tempered)
    assert low_tempered >= low_full + 0.15
    assert min(low for _, low in tempered) >= 0.5


@pytest.mark.parametrize("near", [False, True])
def test_a_tempered_silence_is_never_stronger_evidence_than_a_full_one(near: bool) -> None:
    """For every temper level and set of heard scanners (none, one, two): the tempered silence lies between the full
    one and 1 in every cell -- less evidence, never other evidence -- and the same over each scanner's reach
    (``near``) as over the box."""
    engine = _engine()
    evidence = engine._evidence
    evidence.near = near
    for heard in (0, 1 << 1, 1 << 1 | 1 << 3):
        full = evidence._quiet(-1, -59).copy() if near else evidence._silence(heard, -59)
        for level in range(1, TEMPER_LEVELS + 1):
            tempered = evidence._quiet(-1, -59, level) if near else evidence._silence(heard, -59, level)
            assert np.all(tempered >= full - 1e-12)
            assert np.all(tempered <= 1.0 + 1e-12)
            assert np.allclose(tempered, full ** (level / TEMPER_LEVELS))
