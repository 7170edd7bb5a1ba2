"""The grid's radio learned as a truncated regression (edge/presence_grid_learn.py ``truncated_fit``,
``TRUNCATED``; docs/presence.md, "The grid's worst families against the oracle"): a scanner hears nothing under
its sensitivity, so in a steep store the far band's quiet readings are missing from the samples and the plain
regression learns a flatter exponent and a narrower sigma. Pure; the clock injected by the sightings and ticks;
a real simulated store."""

from __future__ import annotations

import numpy as np
import pytest

from edge import presence_grid, presence_grid_learn, presence_grid_shade
from edge.presence_grid import GridEstimator
from edge.presence_grid_learn import truncated_fit
from edge.sim.sweep import simulate
from edge.sim.sweep.cells import CELLS
from tests.test_presence_grid_learn import replay

LIMIT_DB = 36.0
"""A card declaring -59 dBm at 1 m heard by a receiver whose floor is -95 dBm: no loss above 36 dB is heard."""


def samples(exponent: float, sigma: float, seed: int, limit: float) -> tuple[np.ndarray, ...]:
    """Readings of shoppers 4.5-12 m from a scanner (the learner's band), those over ``limit`` never heard."""
    rng = np.random.default_rng(seed)
    log_d = np.log10(rng.uniform(4.5, 12.0, 800))
    loss = 10.0 * exponent * log_d + rng.normal(0.0, sigma, len(log_d))
    heard = loss <= limit
    log_d, loss = log_d[heard], loss[heard]
    return np.ones(len(loss)), loss, log_d, log_d * log_d, np.full(len(loss), limit)


def plain(weight: np.ndarray, loss: np.ndarray, log_d: np.ndarray, log_d2: np.ndarray) -> tuple[float, float]:
    """The sums' M-step (what the learner used before): n = sum(loss log d) / (10 sum(log d^2)), sigma the rms."""
    b = float(weight @ (loss * log_d) / (weight @ log_d2))
    q = loss * loss - 2.0 * b * loss * log_d + b * b * log_d2
    return b / 10.0, float(np.sqrt(weight @ q / weight.sum()))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_steep_store_heard_above_the_receivers_floor_is_learned_whole(seed: int) -> None:
    """Exponent 3.2, 5.1 dB (the sweep's steep stores): about an eighth of the band's readings are under the floor;
    the plain regression reads 3.0-3.1 and 4.5 dB, the truncated fit the truth."""
    weight, loss, log_d, log_d2, limit = samples(3.2, 5.1, seed, LIMIT_DB)
    assert len(loss) < 0.93 * 800  # the floor took its share
    n0, s0 = plain(weight, loss, log_d, log_d2)
    assert n0 < 3.12
    assert s0 < 4.7
    n, s = truncated_fit(weight, loss, log_d, log_d2, limit, n0, s0)
    assert n == pytest.approx(3.2, abs=0.1)
    assert s == pytest.approx(5.1, abs=0.35)


def test_without_a_sample_near_the_floor_it_is_the_plain_regression() -> None:
    """Exponent 2.2 (the sweep's usual store): the floor is 20 dB under the band's readings, the fit the M-step."""
    weight, loss, log_d, log_d2, limit = samples(2.2, 5.1, 4, LIMIT_DB + 20.0)
    n0, s0 = plain(weight, loss, log_d, log_d2)
    n, s = truncated_fit(weight, loss, log_d, log_d2, limit, 2.0, 6.0)
    assert n == pytest.approx(n0, abs=1e-3)
    assert s == pytest.approx(s0, abs=1e-2)


def test_weights_count_as_repeated_samples() -> None:
    """A sample of weight 2 is two samples (the learner's time decay weighs them)."""
    weight, loss, log_d, log_d2, limit = samples(3.2, 5.1, 5, LIMIT_DB)
    twice = truncated_fit(*(np.concatenate([a, a]) for a in (weight, loss, log_d, log_d2, limit)), 3.0, 5.0)
    double = truncated_fit(2.0 * weight, loss, log_d, log_d2, limit, 3.0, 5.0)
    assert twice == pytest.approx(double, abs=1e-6)


def run_steep(truncated: bool, monkeypatch: pytest.MonkeyPatch) -> GridEstimator:
    monkeypatch.setattr(presence_grid_learn, "TRUNCATED", truncated)
    cell = CELLS[13]  # today's store at exponent 3.2
    config = cell.layout.config()
    engine = GridEstimator(config.zones, config.presence, config.scanners, config.floor)
    replay(engine, simulate(cell, 1, minutes=5.0, shoppers=20))
    return engine


def test_the_grid_in_a_steep_store_uses_its_exponent(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cell 13 (exponent 3.2, 5 dB and the devices' 1 dB), 5 minutes: the fit learns 3.1-3.3 and about 5 dB, and the
    grid uses 3.1 or steeper; without the truncation (the previous code) the plain regression's 2.9-3.0. The sigma
    in use stays the plain M-step's (at the fit's exponent: FIT_SIGMA). The devices' offsets (session 44) and the body's
    shadow (session 45) off: the two fits compared on the posteriors they alone make (with either the plain
    regression's reaches 3.1 too)."""
    monkeypatch.setattr(presence_grid, "LEARN_DEVICES", False)
    monkeypatch.setattr(presence_grid_shade, "SHADE", False)
    engine = run_steep(True, monkeypatch)
    report = engine.radio()
    assert report["fit_exponent"] == pytest.approx(3.2, abs=0.1)
    assert report["fit_sigma_db"] == pytest.approx(5.1, abs=0.5)
    assert engine._radio.exponent >= 3.1
    before = run_steep(False, monkeypatch)
    assert "fit_exponent" not in before.radio()
    assert before._radio.exponent <= 3.0
