"""The grid engine's building wall (edge/presence_grid_wall.py ``WallLearner``, ``GridRadio``'s street cells): the
street expects the wall's loss, a told ``[floor] wall_loss_db`` is used as is, and the learner finds the wall of a
real simulated store (the three-gateway row, shoppers walking in from 10 m outside its doors) from none."""

from __future__ import annotations

import dataclasses
import math
import random

import numpy as np
import pytest

from edge.config import from_mapping
from edge.config_errors import InvalidConfigError
from edge.errors import ConfigError
from edge.floor import FloorArea, FloorConfig
from edge.presence_grid import CELL_M, STREET_M, GridEstimator
from edge.presence_grid_radio import SENSITIVITY_DBM, GridRadio
from edge.presence_grid_wall import WALL_MIN_SAMPLES, WallLearner
from edge.presence_grid_windows import window_shape
from edge.sim import engines
from edge.sim.multi import WALL_LOSS_DB, MultiStore
from edge.sim.sweep.cells import CELLS


def _row(engine: str = "grid", **floor: float) -> GridEstimator:
    store = MultiStore(gateways=3, seed=3, engine=engine)
    mapping = store.config(0)
    mapping.pop("store")
    mapping["floor"] = {**mapping["floor"], **floor}
    config = from_mapping(mapping)
    return GridEstimator(config.zones, config.presence, config.scanners, config.floor)


def test_a_street_cell_expects_the_wall_and_a_retuned_radio_is_one_built_so() -> None:
    """Built at 10 dB, a reading's likelihood on the street is the wall-less radio's 10 dB further under; on the
    floor unchanged; ``retune(.., wall_db=10)`` gives the same tables as building at 10."""
    config = CELLS[0].layout.config()
    args = (config.zones, config.scanners, config.floor, 2.2, CELL_M, STREET_M)
    bare, walled, retuned = GridRadio(*args), GridRadio(*args, 10.0), GridRadio(*args)
    retuned.retune(2.2, None, 10.0)
    street = walled.outside > 0
    assert street.any()
    assert not (street & (walled.mask.reshape(street.shape) == 0)).any()  # the street is made of the grid's cells
    for scanner in range(len(config.scanners)):
        for residual in (-75, -60, -45):
            low, high = bare.likelihood(scanner, residual), walled.likelihood(scanner, residual)
            assert np.array_equal(high[~street], low[~street])
            assert np.array_equal(walled.likelihood(scanner, residual - 10)[street], low[street])
            assert np.array_equal(retuned.likelihood(scanner, residual), high)
        assert np.array_equal(retuned.silent(scanner, -59), walled.silent(scanner, -59))


def test_the_estimate_conditions_on_being_heard() -> None:
    """Readings of shoppers 8-14 m out behind a 10 dB wall, only those above the receiver's floor kept (most of
    the faint ones are lost): the learner's estimate is within a dB of 10; the plain mean of the residuals, which
    forgets the lost ones, is several dB thinner."""
    config = CELLS[0].layout.config()
    radio = GridRadio(config.zones, config.scanners, config.floor, 2.2, CELL_M, STREET_M)
    learner = WallLearner(radio)
    rng = random.Random(7)
    naive: list[float] = []
    while len(learner._samples) < 400:
        log_d = math.log10(rng.uniform(8.0, 14.0))
        reading = -59.0 - 22.0 * log_d - 10.0 + rng.gauss(0.0, radio.sigma_db)
        if reading >= SENSITIVITY_DBM:
            learner._samples.append((log_d, reading + 59.0, SENSITIVITY_DBM + 59.0))
            naive.append(-22.0 * log_d - (reading + 59.0))
    found = learner.fit()
    assert found is not None
    estimate, se = found
    assert abs(estimate - 10.0) <= 1.0
    assert se < 1.0
    assert sum(naive) / len(naive) < 8.0  # what a plain mean would have learned


def test_no_estimate_before_enough_samples() -> None:
    config = CELLS[0].layout.config()
    learner = WallLearner(GridRadio(config.zones, config.scanners, config.floor, 2.2, CELL_M, STREET_M))
    learner._samples.extend([(1.0, -40.0, -36.0)] * (WALL_MIN_SAMPLES - 1))
    assert learner.fit() is None


def test_the_row_learns_its_front_wall_from_none() -> None:
    """The three-gateway row, shoppers walking in from 10 m outside a door and out through the other (the
    simulator's wall: 10 dB): one grid engine hearing every scanner, never told the wall, uses 8-13 dB by the end
    of 180 s, learned from the readings whose posterior is on the street."""
    store = MultiStore(gateways=3, seed=3, start=1_800_000_000.0, engine="grid")
    walks = [dataclasses.replace(w, start=w.start + 4.0) for w in store.door_walks(8, 40.0)]
    engine = engines.run(store, walks, 180.0, hear_all=True)["all"].engine
    assert isinstance(engine, GridEstimator)
    found = engine.radio()
    wall, samples = found["wall_db"], found["wall_samples"]
    assert wall is not None
    assert samples is not None
    assert abs(wall - WALL_LOSS_DB) <= 3.0
    assert samples >= WALL_MIN_SAMPLES


def test_a_told_wall_is_used_and_not_learned() -> None:
    engine = _row(wall_loss_db=12.5)
    assert engine._radio.wall_db == 12.5
    assert engine._wall is None
    assert engine.radio()["wall_db"] == 12.5
    assert "wall_learned_db" not in engine.radio()
    learning = _row()
    assert learning._radio.wall_db == 0.0
    assert learning._wall is not None


def test_wall_loss_db_is_validated() -> None:
    area = (FloorArea(rect_m=(0.0, 0.0, 4.0, 4.0)),)
    assert FloorConfig(area=area, wall_loss_db=8.0).wall_loss_db == 8.0
    assert FloorConfig(area=area).wall_loss_db is None
    with pytest.raises(InvalidConfigError):
        FloorConfig(wall_loss_db=8.0)
    for bad in (-1.0, 61.0):
        with pytest.raises(ConfigError, match=r"floor\.wall_loss_db"):
            from_mapping({"floor": {"area": [{"rect_m": [0.0, 0.0, 4.0, 4.0]}], "wall_loss_db": bad}})


def test_a_narrow_store_is_one_window_long_and_no_window_is_larger_than_a_square_one() -> None:
    side = 24
    assert window_shape(50, 34, side) == (24, 24)
    assert window_shape(36, 13, side) == (36, 13)  # the three-gateway row and its street: all of it
    assert window_shape(80, 13, side) == (576 // 13, 13)
    assert window_shape(13, 80, side) == (13, 576 // 13)
    for nx in range(1, 90, 7):
        for ny in range(1, 90, 5):
            kx, ky = window_shape(nx, ny, side)
            assert kx * ky <= side * side
            assert kx <= nx
            assert ky <= ny
