"""When the grid's learned exponent is used (edge/presence_grid_learn.py ``_Learner.learned``, ``RADIO_SE``,
``RADIO_REJECT_Z``; docs/presence.md, "The grid's worst families against the oracle"): once precise to half a step,
or sooner once the exponent in use is outside the estimate's 95 % interval by more than the deadband -- a far move
needs less precision than a fine one. Pure (the samples' times are the caller's); a real simulated store."""

from __future__ import annotations

import math

import pytest

from edge import presence_grid_learn
from edge.presence_grid import GridEstimator
from edge.presence_grid_learn import RADIO_SE, RADIO_SE_MIN_SAMPLES, _Learner
from edge.sim.sweep import simulate
from edge.sim.sweep.cells import CELLS
from edge.sim.sweep.judge import TICK_S


def feed(learner: _Learner, count: int, exponent: float, noise_db: float) -> None:
    """``count`` samples 0.1 s apart from 5-8 m, the loss ``exponent``'s plus alternating +-``noise_db``."""
    for k in range(count):
        log_d = math.log10(5.0 + 3.0 * (k % 7) / 6.0)
        loss = 10.0 * exponent * log_d + (noise_db if k % 2 else -noise_db)
        learner.add(learner.samples * 0.1, loss, log_d, log_d * log_d)


def standard_error(learner: _Learner) -> float:
    n = learner._sxy / (10.0 * learner._sxx)
    residual = learner._syy - 20.0 * n * learner._sxy + 100.0 * n * n * learner._sxx
    return math.sqrt(residual / learner._sw / learner._sxx) / 10.0


def test_a_store_far_from_the_configured_exponent_is_used_before_it_is_precise() -> None:
    """40 samples of a 3.2 store at 5 dB (the configured 2.2 in use): the estimate's standard error is about twice
    RADIO_SE, yet 2.2 lies a dozen standard errors away -- it is used."""
    learner = _Learner(2.2)
    feed(learner, 40, 3.2, 5.0)
    assert standard_error(learner) > 1.5 * RADIO_SE
    found = learner.learned()
    assert found == pytest.approx(3.2, abs=0.1)
    assert learner.step()
    assert learner.exponent == pytest.approx(3.2)


def test_a_fine_move_waits_for_precision() -> None:
    """40 samples of a 2.3 store (0.1 from the exponent in use, within the deadband plus two standard errors): not
    used until precise to RADIO_SE; never before RADIO_SE_MIN_SAMPLES, however far."""
    learner = _Learner(2.2)
    feed(learner, 40, 2.3, 5.0)
    assert learner.learned() is None
    feed(learner, 400, 2.3, 5.0)
    assert learner.learned() == pytest.approx(2.3, abs=0.03)
    early = _Learner(2.2)
    feed(early, int(RADIO_SE_MIN_SAMPLES) - 2, 3.6, 1.0)
    assert early.learned() is None


def test_the_test_can_be_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """``RADIO_REJECT_Z`` huge: the previous round's rule, precision only."""
    monkeypatch.setattr(presence_grid_learn, "RADIO_REJECT_Z", 1e9)
    learner = _Learner(2.2)
    feed(learner, 40, 3.2, 5.0)
    assert learner.learned() is None


def exponent_at(seconds: float) -> float:
    """The exponent the grid uses after ``seconds`` of the sweep's cell 13 (today's store at exponent 3.2)."""
    cell = CELLS[13]
    config = cell.layout.config()
    engine = GridEstimator(config.zones, config.presence, config.scanners, config.floor)
    run = simulate(cell, 1, minutes=10.0, shoppers=20)  # the sweep's run, looked at after ``seconds``
    next_tick = run.start + TICK_S
    for s in run.sightings:
        if s.at - run.start > seconds:
            break
        while next_tick <= s.at:
            engine.tick(next_tick)
            next_tick += TICK_S
        engine.observe(s)
    return engine._radio.exponent


def test_a_steep_store_is_followed_within_its_first_minutes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cell 13, seed 1: the grid uses 2.9 or steeper after 150 s (at 121 s); with precision only it still used the
    configured 2.2 then (it moved at 219 s)."""
    assert exponent_at(150.0) >= 2.9
    monkeypatch.setattr(presence_grid_learn, "RADIO_REJECT_Z", 1e9)
    assert exponent_at(150.0) == 2.2
