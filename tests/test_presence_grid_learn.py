"""The grid engine's radio learned online (edge/presence_grid_learn.py ``GridLearner``; docs/presence.md, "The
grid's radio, learned"): pure, the clock injected by the sightings and ticks; a real simulated store."""

from __future__ import annotations

import bisect
import itertools
import math

import numpy as np
import pytest

from edge import presence_grid, presence_grid_learn, presence_grid_radio
from edge.presence_grid import CELL_M, STREET_M, GridEstimator
from edge.presence_grid_learn import RADIO_BURST_S, RADIO_SAMPLES_PER_S, RADIO_SE_MIN_SAMPLES, _Learner, ration
from edge.presence_grid_radio import GridRadio, temper_level, temper_thresholds
from edge.self_calibration import RADIO_MIN_WEIGHT, RadioLearner
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


def _feed(learner: RadioLearner, count: int, noise_db: float, exponent: float = 3.0) -> None:
    """``count`` samples 0.1 s apart from 5-8 m, the loss ``exponent``'s plus alternating +-``noise_db``."""
    for k in range(count):
        log_d = math.log10(5.0 + 3.0 * (k % 7) / 6.0)
        loss = 10.0 * exponent * log_d + (noise_db if k % 2 else -noise_db)
        learner.add(learner.samples * 0.1, loss, log_d, log_d * log_d)


def test_the_learned_exponent_is_used_once_precise_enough() -> None:
    """The grid's learner is ready when the slope's standard error is RADIO_SE or less -- before RADIO_MIN_WEIGHT
    samples when the readings agree, not before RADIO_SE_MIN_SAMPLES -- and at RADIO_MIN_WEIGHT as before."""
    quiet, noisy, model = _Learner(2.2), _Learner(2.2), RadioLearner(2.2)
    _feed(quiet, 100, 3.0)
    _feed(model, 100, 3.0)
    assert model.learned() is None  # the model engine's rule: 200 samples' weight
    learned = quiet.learned()
    assert learned is not None
    assert abs(learned - 3.0) < 0.05
    early = _Learner(2.2)
    _feed(early, int(RADIO_SE_MIN_SAMPLES) - 2, 0.5)
    assert early.learned() is None
    _feed(noisy, 100, 20.0)  # clipped to 15 dB: a standard error of about 0.2
    assert noisy.learned() is None
    _feed(noisy, int(RADIO_MIN_WEIGHT) + 20, 20.0)
    assert noisy.learned() is not None


def test_samples_are_rationed_over_a_retune_period_not_spaced() -> None:
    """At most RADIO_SAMPLES_PER_S on average: a burst of candidates is taken while the bucket holds
    RADIO_BURST_S of the rate, then one every 1/RADIO_SAMPLES_PER_S; a quiet spell fills it again."""
    spacing = 1.0 / RADIO_SAMPLES_PER_S
    empty_at, taken, at = -math.inf, [], 0.0
    while at < 60.0:  # 100 candidates a second for a minute
        if at >= empty_at + spacing:
            empty_at = ration(empty_at, at)
            taken.append(at)
        at += 0.01
    burst = round(RADIO_BURST_S * RADIO_SAMPLES_PER_S)
    assert all(t < 1.6 for t in taken[:burst])  # the full bucket: a sample per candidate
    assert len(taken) == pytest.approx(burst + 60.0 * RADIO_SAMPLES_PER_S, abs=2)
    steady = [t for t in taken if t >= 5.0]  # the bucket emptied within 2 s
    gaps = [b - a for a, b in itertools.pairwise(steady)]
    assert min(gaps) >= spacing - 0.011
    assert ration(empty_at, at + 1000.0) == pytest.approx(at + 1000.0 - RADIO_BURST_S + spacing)


def test_retune_with_a_sigma_is_a_radio_built_with_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """``retune(2.2, 7.0)``: every reading's and silence's likelihood is that of a radio built with 7 dB."""
    config = CELLS[0].layout.config()
    args = (config.zones, config.scanners, config.floor)
    radio = GridRadio(*args, 2.2, CELL_M, STREET_M)
    radio.retune(2.2, 7.0)
    monkeypatch.setattr(presence_grid_radio, "SIGMA_DB", 7.0)
    fresh = GridRadio(*args, 2.2, CELL_M, STREET_M)
    assert radio.sigma_db == fresh.sigma_db == 7.0
    for scanner in range(len(config.scanners)):
        for residual in (-80, -60, -45, -30):
            assert np.array_equal(radio.likelihood(scanner, residual), fresh.likelihood(scanner, residual))
        assert np.array_equal(radio.silent(scanner, -59), fresh.silent(scanner, -59))


@pytest.mark.parametrize(("index", "low", "high"), [(16, 6.5, 7.5), (0, 4.5, 5.5), (14, 3.0, 4.0)])
def test_the_sigma_in_use_follows_the_store_both_ways(index: int, low: float, high: float) -> None:
    """Within 5 minutes the grid learns the store's shadowing and uses it, wider or narrower than the assumed
    SIGMA_DB (6 dB): the sweep's cell 16 (8 dB: learned 6.8-7.3, biased low), today's store (5 dB plus the
    devices' 1 dB), cell 14 (3 dB)."""
    cell = CELLS[index]
    config = cell.layout.config()
    engine = GridEstimator(config.zones, config.presence, config.scanners, config.floor)
    replay(engine, simulate(cell, 1, minutes=5.0, shoppers=20))
    in_use = engine.radio()["sigma_in_use_db"]
    assert in_use == engine._radio.sigma_db
    assert low <= engine._radio.sigma_db <= high


def test_a_floor_on_the_sigma_keeps_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the previous round's floor (never narrower than SIGMA_DB) today's store keeps the assumed 6 dB."""
    monkeypatch.setattr(presence_grid_learn, "SIGMA_MIN_DB", presence_grid_radio.SIGMA_DB)
    config = CELLS[0].layout.config()
    engine = GridEstimator(config.zones, config.presence, config.scanners, config.floor)
    replay(engine, simulate(CELLS[0], 1, minutes=5.0, shoppers=20))
    assert engine._radio.sigma_db == presence_grid_radio.SIGMA_DB


def test_a_reading_soon_after_the_last_counts_less(monkeypatch: pytest.MonkeyPatch) -> None:
    """The readings' coherence (COHERENCE_S): a scanner's first reading of a shopper and one long after its last
    count fully, the app's 4 Hz adverts 7/8, a card's 2 Hz fully; a tempered reading's likelihood is the full
    one's raised to level / TEMPER_LEVELS; COHERENCE_S 0 counts every reading fully."""
    levels = presence_grid_radio.TEMPER_LEVELS
    assert presence_grid_radio.COHERENCE_S == 0.15
    assert levels == 8
    assert temper_level(10.0) == levels
    assert temper_level(0.5) == levels
    assert temper_level(0.25) == 7
    assert temper_level(0.1) == 4
    assert temper_level(0.0) == 1
    assert all(temper_level(a) <= temper_level(b) for a, b in itertools.pairwise([0.0, 0.02, 0.05, 0.1, 0.2, 0.4]))
    thresholds = temper_thresholds()  # the engine's way: a bisection, not an exponential per reading
    for dt in [k * 0.01 for k in range(200)]:
        assert min(levels, 1 + bisect.bisect_left(thresholds, dt)) == temper_level(dt)
    config = CELLS[0].layout.config()
    radio = GridRadio(config.zones, config.scanners, config.floor, 2.2, CELL_M, STREET_M)
    full = radio.likelihood(0, -50)
    share = radio.in_range(0)  # (a cell the range's edge crosses: its density tempered, then weighed by its share)
    density = np.divide(full, share, out=np.zeros_like(full), where=share > 0.0)
    for level in range(1, levels):
        tempered = share * density ** (level / levels)
        assert np.allclose(radio.likelihood(0, -50, level=level), tempered, rtol=1e-12, atol=0.0)
        whole = share == 1.0
        assert np.allclose(radio.likelihood(0, -50, level=level)[whole], full[whole] ** (level / levels), rtol=1e-12)
    radio.retune(2.2, 4.5)  # the tempered tables follow a new sigma
    whole = share == 1.0
    assert np.allclose(radio.likelihood(0, -50, level=4)[whole], radio.likelihood(0, -50)[whole] ** 0.5, rtol=1e-12)
    monkeypatch.setattr(presence_grid_radio, "COHERENCE_S", 0.0)
    assert temper_level(0.0) == levels
    assert temper_thresholds() == []
