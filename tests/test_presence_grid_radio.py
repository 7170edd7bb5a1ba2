"""The grid engine's radio learned online (edge/presence_grid_radio.py ``GridLearner``; docs/presence.md, "The
grid's radio, learned"): pure, the clock injected by the sightings and ticks; a real simulated store."""

from __future__ import annotations

import numpy as np
import pytest

from edge import presence_grid
from edge.presence_grid import CELL_M, STREET_M, GridEstimator
from edge.presence_grid_radio import GridRadio
from edge.self_calibration import RADIO_MIN_WEIGHT
from edge.sim.sweep import Run, simulate
from edge.sim.sweep.cells import CELLS
from edge.sim.sweep.judge import TICK_S


def replay(engine: GridEstimator, run: Run) -> None:
    next_tick = run.start + TICK_S
    for s in run.sightings:
        while next_tick <= s.at:
            engine.tick(next_tick)
            next_tick += TICK_S
        engine.observe(s)


def test_retune_is_a_radio_built_for_that_exponent() -> None:
    """After ``retune(3.0)`` every reading's and silence's likelihood is that of a radio built at 3.0."""
    config = CELLS[0].layout.config()
    args = (config.zones, config.scanners, config.floor)
    radio = GridRadio(*args, 2.2, CELL_M, STREET_M)
    radio.retune(3.0)
    fresh = GridRadio(*args, 3.0, CELL_M, STREET_M)
    for scanner in range(len(config.scanners)):
        for residual in (-80, -60, -45, -30):
            assert np.array_equal(radio.likelihood(scanner, residual), fresh.likelihood(scanner, residual))
        assert np.array_equal(radio.silent(scanner, -59), fresh.silent(scanner, -59))


def test_a_steep_store_is_learned_and_the_likelihoods_rebuilt() -> None:
    """Today's store with a path-loss exponent of 3.2 (the sweep's cell 13; configured 2.2): within 4 minutes of 20
    shoppers the grid learns a steeper radio, moves the exponent in use and drops its cached likelihoods."""
    cell = CELLS[13]
    assert cell.radio.exponent == 3.2
    config = cell.layout.config()
    engine = GridEstimator(config.zones, config.presence, config.scanners, config.floor)
    assert engine.radio()["exponent"] == config.presence.path_loss_exponent == 2.2
    run = simulate(cell, 1, minutes=4.0, shoppers=20)
    replay(engine, run)
    found = engine.radio()
    learned, exponent = found["learned"], found["exponent"]
    assert learned is not None
    assert exponent is not None
    assert 2.7 <= learned <= 3.5
    assert 2.7 <= exponent <= 3.5
    assert engine._radio.exponent == exponent  # the tables in use are the learned exponent's


def test_a_store_at_the_configured_exponent_keeps_it() -> None:
    """The 4 m tiles at the configured 2.2: samples taken, the exponent in use stays (never flatter than
    configured, and a deadband against the learner's noise)."""
    cell = CELLS[2]
    config = cell.layout.config()
    engine = GridEstimator(config.zones, config.presence, config.scanners, config.floor)
    replay(engine, simulate(cell, 1, minutes=3.0, shoppers=10))
    found = engine.radio()
    samples = found["samples"]
    assert samples is not None
    assert samples >= RADIO_MIN_WEIGHT
    assert found["exponent"] == 2.2


def test_learning_can_be_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(presence_grid, "LEARN_RADIO", False)
    config = CELLS[13].layout.config()
    engine = GridEstimator(config.zones, config.presence, config.scanners, config.floor)
    replay(engine, simulate(CELLS[13], 1, minutes=1.0, shoppers=5))
    assert engine.radio() == {}
    assert engine._radio.exponent == 2.2
