"""The grid engine learns each scanner's calibration offset online (edge/presence_grid_offsets.py; docs/presence.md,
"The grid learns each scanner's offset (session 17)"): a scanner reading 4 dB low is found and corrected within a
few simulated minutes, and in stores where no scanner is off nothing is corrected -- the guard against the model
engine's self-calibration, which learned 2-6 dB where nothing was off ("Self-calibration hurt"). Pure; the clock
injected by the sightings and ticks; real simulated stores (the sweep's simulator)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from edge import presence_grid_offsets
from edge.presence_grid import GridEstimator
from edge.presence_grid_offsets import OffsetLearner, fit_offsets
from edge.sim.sweep import simulate
from edge.sim.sweep.cell import Cell
from edge.sim.sweep.cells import CELLS
from tests.test_presence_grid_learn import replay

MINUTES, SHOPPERS = 6.0, 30
"""A few simulated minutes of a busy hour."""


def run(cell: Cell, seed: int) -> GridEstimator:
    config = cell.layout.config()
    engine = GridEstimator(config.zones, config.presence, config.scanners, config.floor)
    replay(engine, simulate(cell, seed, minutes=MINUTES, shoppers=SHOPPERS))
    return engine


def low_scanner() -> Cell:
    """The sweep's 4 m aisle tiles (cell 2) with its third scanner reading 4 dB low."""
    cell = CELLS[2]
    return replace(cell, name="aisle tiles 4 m, scn-2 -4 dB", radio=cell.radio.but(scanner_error_db=(("scn-2", -4.0),)))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_scanner_reading_4_db_low_is_learned_and_corrected(seed: int) -> None:
    """Its readings' error, -4 dB, is learned as a correction of +4 (+-1.5; the configured ``offset_db``'s sign: dB
    added to its readings) and applied; no other scanner is corrected. The report names it."""
    engine = run(low_scanner(), seed)
    report = engine.radio()
    learned = report["offset_db:scn-2"]
    assert learned is not None
    assert learned == pytest.approx(4.0, abs=1.5)
    assert report["offset_applied_db:scn-2"] == pytest.approx(4.0, abs=1.5)
    assert engine._offsets[2] == report["offset_applied_db:scn-2"]  # (the readings are corrected by it)
    others = [report[f"offset_applied_db:scn-{k}"] for k in (0, 1, 3, 4, 5)]
    assert others == [0.0] * 5


@pytest.mark.parametrize(("index", "seed"), [(2, 1), (2, 2), (2, 3), (6, 1), (6, 2), (6, 3)])
def test_a_store_with_no_scanner_off_learns_offsets_near_0_and_applies_none(index: int, seed: int) -> None:
    """The sweep's aisle tiles and L-shaped store, nothing off: every offset learned to half a dB is within 1 dB of 0,
    the rest within 2 of their standard errors (at most 1 dB: OFFSET_SE_DB), and none is applied (the model engine's
    self-calibration learned 2-6 dB in such stores)."""
    engine = run(CELLS[index], seed)
    offsets = engine._learner.offsets if engine._learner is not None else None
    assert offsets is not None
    learned = [(v, se) for v, se in zip(offsets.learned, offsets.se, strict=True) if v is not None]
    assert len(learned) >= 4
    assert all(abs(v) <= 1.0 for v, se in learned if se <= 0.5)
    assert all(abs(v) <= max(1.0, 2.0 * se) for v, se in learned)
    assert offsets.applied == [0.0] * len(offsets.applied)


def test_todays_store_applies_none() -> None:
    """Today's store (two scanners in the checkout zone, 4 m apart: the layout the model's self-calibration mistook
    for calibration) -- nothing applied, the offsets learned within 1.25 dB of 0 (seed 1; in seeds 2 and 3 fewer than
    OFFSET_MIN_SCANNERS are sampled in OFFSET_MIN_SHOPPERS visits in these 6 minutes, and nothing is learned). (1 dB
    until session 44: with each shopper's device offset learned, scn-household learns 1.06, applied 0.)"""
    engine = run(CELLS[0], 1)
    offsets = engine._learner.offsets if engine._learner is not None else None
    assert offsets is not None
    assert offsets.applied == [0.0] * len(offsets.applied)
    learned = [v for v in offsets.learned if v is not None]
    assert len(learned) >= 3
    assert max(abs(v) for v in learned) <= 1.25


def test_the_fit_takes_the_receivers_floor_into_account() -> None:
    """Synthetic residuals of two scanners, one 4 dB off (in loss), the quiet ones under the floor never heard: the
    plain mean of the heard ones is short of 4 dB, the truncated fit finds it; its standard error is at least sigma
    over the root of the count heard (the truncation costs information)."""
    rng = np.random.default_rng(7)
    count, sigma = 600, 5.0
    scanner = np.repeat(np.arange(2), count)
    residual = rng.normal(0.0, sigma, 2 * count) + np.where(scanner == 1, 4.0, 0.0)
    room = np.full(2 * count, 5.0)  # (the floor 5 dB above the line: 42 % of the off scanner's readings unheard)
    heard = residual <= room
    residual, room, scanner = residual[heard], room[heard], scanner[heard]
    shopper = np.arange(len(residual))
    weight = np.ones(len(residual))
    plain = float(residual[scanner == 1].mean())
    assert plain < 3.0
    offset, se = fit_offsets(weight, residual, room, scanner, shopper, 2, sigma)
    assert offset[0] == pytest.approx(0.0, abs=0.6)
    assert offset[1] == pytest.approx(4.0, abs=0.6)
    heard_off = int((scanner == 1).sum())
    assert sigma / math.sqrt(heard_off) < se[1] < 2.0 * sigma / math.sqrt(heard_off)


def test_an_offset_is_relative_to_the_median_and_applied_only_when_sure(monkeypatch: pytest.MonkeyPatch) -> None:
    """Five scanners whose residuals are all 3 dB high but one's 7: the store's level (the advertisers' power, the
    path-loss line's) is not a scanner's offset -- only the one 4 dB from the others is learned off 0 and applied,
    in steps of OFFSET_STEP_DB, on top of the configured offset; with APPLY_OFFSETS off it is only reported."""
    rng = np.random.default_rng(3)
    scanner = np.repeat(np.arange(5), 400)
    loss = 22.0 + rng.normal(0.0, 5.0, len(scanner)) + np.where(scanner == 4, 7.0, 3.0)
    log_d = np.ones(len(scanner))
    limit = np.full(len(scanner), 80.0)
    shopper = np.arange(len(scanner))
    weight = np.ones(len(scanner))
    in_use = [1.0, 0.0, 0.0, 0.0, -2.0]
    learner = OffsetLearner([1.0, 0.0, 0.0, 0.0, -2.0], in_use)
    assert learner.look(weight, loss, log_d, limit, scanner, shopper, 2.2, 5.0)
    assert [round(v or 0.0) for v in learner.learned] == [0, 0, 0, 0, 4]
    assert learner.applied[:4] == [0.0] * 4
    assert learner.applied[4] == pytest.approx(4.0, abs=0.6)
    assert learner.applied[4] % presence_grid_offsets.OFFSET_STEP_DB == 0.0
    assert in_use == [1.0, 0.0, 0.0, 0.0, -2.0 + learner.applied[4]]
    monkeypatch.setattr(presence_grid_offsets, "APPLY_OFFSETS", False)
    reported = OffsetLearner([0.0] * 5, [0.0] * 5)
    assert not reported.look(weight, loss, log_d, limit, scanner, shopper, 2.2, 5.0)
    assert reported.learned[4] == pytest.approx(4.0, abs=0.6)
    assert reported.applied == [0.0] * 5
