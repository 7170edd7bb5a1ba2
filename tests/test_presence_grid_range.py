"""The grid's hearing range, learned (edge/presence_grid_range.py): pure, a radio and hand-made posteriors."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pytest

from edge import presence_grid_radio
from edge.presence_grid import CELL_M, STREET_M
from edge.presence_grid_radio import RANGE_M, GridRadio
from edge.presence_grid_range import FAR_LEARNED_P, FAR_LOOK_S, FAR_P, FAR_PRIOR_SAMPLES, RangeLearner
from edge.sim.sweep.cells import CELLS

Vector = npt.NDArray[np.float64]
FAR_LOOK_S_READINGS = round(FAR_LOOK_S / 0.1) + 1
"""Readings 0.1 s apart past the learner's first look."""


@dataclass
class _Track:
    slot: int
    origin: tuple[int, int]
    state: Vector = field(default_factory=lambda: np.zeros(0))


def _radio() -> GridRadio:
    config = CELLS[0].layout.config()
    return GridRadio(config.zones, config.scanners, config.floor, 2.2, CELL_M, STREET_M)


def _placed(radio: GridRadio, far: bool) -> tuple[_Track, tuple[int, int]]:
    """A track whose whole mass is on one cell: the floor's farthest from scanner 0 (``far``), else its nearest."""
    in_range = radio.in_range(0)
    mask = radio.mask.reshape(radio.shape) > 0
    sx, sy, _ = radio.places[0]
    ix, iy = np.meshgrid(np.arange(radio.shape[0]), np.arange(radio.shape[1]), indexing="ij")
    d = np.hypot(ix - sx, iy - sy) * radio.cell_m
    pick = np.where(mask & ((in_range == 0) if far else (in_range > 0)), d, -np.inf if far else np.inf)
    cell = np.unravel_index(int(pick.argmax() if far else pick.argmin()), radio.shape)
    state = np.zeros((2, *radio.shape))
    state[0][cell] = 1.0
    return _Track(0, (0, 0), state), (int(cell[0]), int(cell[1]))


def _feed(learner: RangeLearner, track: _Track, cell: tuple[int, int], residual: int, clock: list[float]) -> None:
    """One reading by scanner 0 of ``track``, its mass's centre at ``cell``, 0.1 s after the last (``clock``)."""
    learner.centred([float(cell[0])], [float(cell[1])], [track])
    clock[0] += 0.1
    learner.sample(clock[0], 0, residual, track)


def _store() -> tuple[GridRadio, RangeLearner, tuple[_Track, tuple[int, int]], tuple[_Track, tuple[int, int]], int]:
    """A radio, its learner (an exponent of 2.2 learned), a shopper far from scanner 0 and one near it, and a
    reading two sigmas weaker than the path loss's mean at the range."""
    radio = _radio()
    learner = RangeLearner(radio)
    learner.judge_at(2.2)
    weak = round(-22.0 * math.log10(RANGE_M) - 2.0 * radio.sigma_db)
    return radio, learner, _placed(radio, far=True), _placed(radio, far=False), weak


def test_a_reading_beyond_the_range_is_impossible_until_far_readings_are_learned_then_rare() -> None:
    radio = _radio()
    _track, cell = _placed(radio, far=True)
    assert radio.likelihood(0, -40)[cell] == 0.0
    radio.reach_far(FAR_P)
    density = radio.density(0, -40, 0, radio.shape[0], 0, radio.shape[1])
    assert math.isclose(radio.likelihood(0, -40)[cell], FAR_P * density[cell])
    share = radio.in_range(0)
    inside = share == 1.0  # in range the density is whole, as before
    whole = radio.density(0, -30, 0, radio.shape[0], 0, radio.shape[1])
    assert np.array_equal(radio.likelihood(0, -30)[inside], whole[inside])
    edge = (share > 0.0) & (share < 1.0)  # a cell the range's edge crosses: its share in range whole, the rest rare
    assert np.allclose(radio.likelihood(0, -30)[edge], (share + FAR_P * (1.0 - share))[edge] * whole[edge])
    radio.reach_far(0.0)
    assert radio.likelihood(0, -40)[cell] == 0.0


def test_weak_readings_of_a_shopper_surely_beyond_the_range_teach_it_to_hear_far() -> None:
    """A scanner hears, now and then, a shopper whom every other reading places beyond its range, weaker than its
    path loss's mean at the range by more than a sigma: once one reading in 100 is such, the range is dropped
    (FAR_LEARNED_P: the path loss alone), where far readings were impossible before the evidence was clear (the
    cautious prior)."""
    radio, learner, (far, far_cell), (near, near_cell), weak = _store()
    clock = [0.0]
    for _ in range(FAR_LOOK_S_READINGS):  # the first look: too few to tell
        _feed(learner, near, near_cell, -20, clock)
    _feed(learner, far, far_cell, weak, clock)
    assert learner.far == 1
    assert radio.far_p == 0.0
    for _ in range(20):  # 99 readings of a shopper by the scanner, one of the far shopper, each round
        for _ in range(99):
            _feed(learner, near, near_cell, -20, clock)
        _feed(learner, far, far_cell, weak, clock)
        if radio.far_p > 0.0:
            break
    assert radio.far_p == FAR_LEARNED_P
    assert learner.far >= 3
    assert learner.samples < 2000


def test_the_same_readings_of_a_shopper_in_range_teach_nothing() -> None:
    """The hard-range store: as many weak readings, but of a shopper within the range -- or strong ones of a
    shopper the posterior wrongly puts beyond it -- never count: far readings stay impossible."""
    radio, learner, (far, far_cell), (near, near_cell), weak = _store()
    clock = [0.0]
    for _ in range(20):
        for _ in range(99):
            _feed(learner, near, near_cell, weak, clock)
        _feed(learner, far, far_cell, -20, clock)
    assert learner.far == 0
    assert radio.far_p == 0.0
    p, se = learner.share()
    assert p == 0.0
    assert math.isclose(se, 1.0 / (learner.samples + FAR_PRIOR_SAMPLES))


def test_nothing_is_counted_before_the_radio_learner_has_an_estimate() -> None:
    """At the configured exponent a steep store's weak readings look far: the learner waits for an estimate."""
    radio = _radio()
    learner = RangeLearner(radio)
    far, far_cell = _placed(radio, far=True)
    weak = round(-22.0 * math.log10(RANGE_M) - 2.0 * radio.sigma_db)
    clock = [0.0]
    for _ in range(500):
        _feed(learner, far, far_cell, weak, clock)
    assert learner.samples == 0
    assert radio.far_p == 0.0
    learner.judge_at(4.0)  # a steeper estimate: the same reading is no longer weak for the range
    for _ in range(500):
        _feed(learner, far, far_cell, weak, clock)
    assert learner.samples == 500
    assert learner.far == 0


@pytest.mark.parametrize("far_silence", [True, False])
def test_once_far_readings_are_weighed_a_silence_weighs_beyond_the_range_too(
    far_silence: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FAR_SILENCE: a scanner's silence beyond the range is the complement of the far readings allowed there -- an
    advert missed (the miss rate), below the receiver's floor, or not heard at far_p of the path loss's rate; within
    the range as before. Before far readings are weighed, and with FAR_SILENCE off, a silence weighs within the
    scanner's reach only (1 beyond it)."""
    monkeypatch.setattr(presence_grid_radio, "FAR_SILENCE", far_silence)
    radio = _radio()
    (_track, cell), (_near, close) = _placed(radio, far=True), _placed(radio, far=False)
    power = -59
    x0, x1, y0, y1 = radio.reach[0]
    cut = np.ones(radio.shape)
    cut[x0:x1, y0:y1] = radio.silent(0, power)
    assert cut[cell] == 1.0  # the range: nobody beyond it is heard, so its silence says nothing there
    assert radio.quiet_reach[0] == radio.reach[0]
    radio.reach_far(FAR_LEARNED_P)
    q0, q1, r0, r1 = radio.quiet_reach[0]
    silent = np.ones(radio.shape)
    silent[q0:q1, r0:r1] = radio.silent(0, power)
    if not far_silence:
        assert radio.quiet_reach[0] == radio.reach[0]
        assert np.array_equal(silent, cut)
        return
    assert radio.quiet_reach[0] == (0, radio.shape[0], 0, radio.shape[1])
    grid, _pdf, cdf = radio.tables()
    mean = -10.0 * radio.exponent * radio.log_d[0][cell]
    above = 1.0 - float(np.interp(radio.floor_dbm(0) - power - mean, grid, cdf))
    assert above > 0.5  # the scanner would hear a shopper there more often than not, were it in range
    assert math.isclose(silent[cell], 1.0 - (1.0 - radio.miss_p) * FAR_LEARNED_P * above)
    assert silent[cell] < 1.0
    assert math.isclose(silent[close], cut[close])  # within the range: as before
    radio.reach_far(0.0)  # learned back: the range again
    assert radio.quiet_reach[0] == radio.reach[0]
