"""The radio learner (edge.self_calibration.RadioLearner): the path-loss exponent by maximum likelihood from
samples, bounded, slow, never flatter than configured in use; and the model engine learning a steep store's
exponent from the sweep's simulated traffic (and not moving on a store at the configured one)."""

from __future__ import annotations

import math
import random

import msgspec
import pytest

from edge import self_calibration as sc
from edge.presence_model import ZoneEstimator
from edge.sim.sweep import simulate
from edge.sim.sweep.cells import CELLS
from edge.sim.sweep.judge import TICK_S

T0 = 1_795_428_000.0


def feed(learner: sc.RadioLearner, exponent: float, sigma_db: float, count: int, *, rate_hz: float = 5.0) -> float:
    """``count`` samples of a store with ``exponent`` and ``sigma_db``, from places 1 m wide in log distance
    (the spread of a zone seen from a scanner 4.5-12 m away), stepping the exponent in use as the model does
    (residuals are clipped around it, so a far steeper store is learned in steps); returns the last time."""
    rng = random.Random(7)
    low, high = (math.log10(d) for d in sc.RADIO_NEAR_M)
    at = T0
    for i in range(count):
        at = T0 + i / rate_hz
        centre = rng.uniform(low, high)
        spread = 0.05
        log_d = rng.uniform(centre - spread, centre + spread)  # where in the place the shopper truly is
        loss = 10.0 * exponent * log_d + rng.gauss(0.0, sigma_db)
        learner.add(at, loss, centre, centre * centre + spread * spread / 3.0)
        if i % 150 == 149:  # the model looks every RADIO_RETUNE_S (30 s at 5 samples a second)
            learner.step()
    return at


def test_learns_a_steep_exponent_and_its_shadowing() -> None:
    learner = sc.RadioLearner(2.2)
    feed(learner, 3.2, 5.0, 3000)
    learned = learner.learned()
    assert learned is not None
    assert abs(learned - 3.2) < 0.1
    sigma = learner.sigma_db()
    assert sigma is not None
    assert abs(sigma - 5.0) < 1.0
    learner.step()
    assert abs(learner.exponent - round(learned, 1)) < 1e-9


def test_nothing_before_enough_samples() -> None:
    learner = sc.RadioLearner(2.2)
    feed(learner, 3.2, 5.0, int(sc.RADIO_MIN_WEIGHT) - 1)
    assert learner.learned() is None
    assert learner.sigma_db() is None
    assert learner.exponent == 2.2


def test_forgets_slowly() -> None:
    """The sums decay with RADIO_TAU_S: an hour later, what was learned no longer counts as enough."""
    learner = sc.RadioLearner(2.2)
    last = feed(learner, 3.2, 5.0, 3000)
    assert learner.learned() is not None
    learner.add(last + 3600.0, 32.0, 0.8, 0.64)
    assert learner.learned() is None


def test_bounded_and_never_flatter_than_configured() -> None:
    learner = sc.RadioLearner(2.2)
    feed(learner, 1.5, 5.0, 3000)
    assert learner.learned() == sc.RADIO_EXPONENT_MIN  # reported, bounded to the physical range
    assert not learner.step()
    assert learner.exponent == 2.2
    steep = sc.RadioLearner(2.2)
    feed(steep, 6.0, 5.0, 3000)
    assert steep.learned() == sc.RADIO_EXPONENT_MAX


def test_noise_around_the_configured_exponent_moves_nothing() -> None:
    learner = sc.RadioLearner(2.2)
    feed(learner, 2.3, 5.0, 3000)
    assert not learner.step()
    assert learner.exponent == 2.2


def test_deep_fades_are_clipped() -> None:
    """5 % of samples 25 dB quieter (deep fades) move the exponent by less than 0.15."""
    learner = sc.RadioLearner(2.2)
    rng = random.Random(3)
    for i in range(3000):
        log_d = rng.uniform(0.65, 1.08)
        loss = 10.0 * 2.6 * log_d + rng.gauss(0.0, 5.0) + (25.0 if rng.random() < 0.05 else 0.0)
        learner.add(T0 + i * 0.2, loss, log_d, log_d * log_d)
    learned = learner.learned()
    assert learned is not None
    assert abs(learned - 2.6) < 0.15


def run_model(index: int, minutes: float) -> ZoneEstimator:
    """The model engine over a sweep cell's simulated sightings (seed 1), ticked as the sweep ticks it."""
    cell = CELLS[index]
    run = simulate(cell, 1, minutes=minutes, shoppers=12)
    config = cell.layout.config()
    est = ZoneEstimator(
        config.zones, msgspec.structs.replace(config.presence, engine="model"), config.scanners, config.floor
    )
    next_tick = run.start + TICK_S
    for s in run.sightings:
        while next_tick <= s.at:
            est.tick(next_tick)
            next_tick += TICK_S
        est.observe(s)
    return est


@pytest.mark.parametrize(("index", "low", "high"), [(13, 2.8, 3.4), (0, 2.2, 2.2)])
def test_the_model_learns_the_store(index: int, low: float, high: float) -> None:
    """The sweep's store with exponent 3.2 is learned as steep (and the tables follow); today's store, at the
    configured 2.2, keeps 2.2."""
    assert CELLS[index].radio.exponent in (3.2, 2.2)
    radio = run_model(index, 4.0).radio()
    exponent = radio["exponent"]
    assert exponent is not None
    assert low - 1e-9 <= exponent <= high + 1e-9, radio
