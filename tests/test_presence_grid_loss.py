"""The grid learns its scanners' miss rate (edge/presence_grid_loss.py; docs/presence.md, "The grid learns its
scanners' miss rate (session 16)"): per store, from rostered traffic, the share of adverts a scanner that could
hear them misses -- used in the silences once its standard error is under LOSS_SE of it, starting at MISS_P (30 %).
Before session 16 the grid used MISS_P throughout.

The real engine on the sweep simulator's stores (its radio, its shoppers and advertisers: the simulator loses each
advert at each scanner in range with the cell's ``miss``); the fit on drawn adverts. Pure: the times are the
simulator's."""

from __future__ import annotations

import math
import random
from dataclasses import replace

import numpy as np
import pytest

from edge.presence_grid import GridEstimator
from edge.presence_grid_loss import _BINS, LOSS_BOUNDS, LOSS_SE, fit
from edge.presence_grid_radio import MISS_P
from edge.sim.sweep import simulate
from edge.sim.sweep.cells import CELLS
from edge.sim.sweep.judge import TICK_S

MINUTES = 12.0
"""Twelve minutes of 20 rostered shoppers: the rate is used after 2-10 minutes in the sweep's stores (a store losing
10 % needs its standard error under 0.01)."""


def _run(miss: float, seed: int = 1) -> tuple[GridEstimator, list[tuple[float, float, float | None, float]]]:
    """The grid engine fed the sweep's base store with ``miss`` of the adverts lost; per tick, (time, rate in use,
    the fit's estimate, its standard error)."""
    base = CELLS[0]
    cell = replace(base, radio=base.radio.but(miss=miss))
    run = simulate(cell, seed, minutes=MINUTES, shoppers=20)
    config = cell.layout.config()
    engine = GridEstimator(config.zones, config.presence, config.scanners, config.floor)
    history: list[tuple[float, float, float | None, float]] = []
    next_tick = run.start + TICK_S
    for sighting in run.sightings:
        while next_tick <= sighting.at:
            engine.tick(next_tick)
            loss = engine._loss
            assert loss is not None
            history.append((next_tick - run.start, engine._radio.miss_p, loss.estimate, loss.se))
            next_tick += TICK_S
        engine.observe(sighting)
    return engine, history


@pytest.mark.parametrize("miss", [0.1, 0.4])
def test_the_rate_converges_near_the_stores_loss(miss: float) -> None:
    """A store that loses 10 % (40 %) of adverts at each scanner: after twelve minutes the rate in use is within
    0.03 of it (MISS_P was 0.3 for both)."""
    engine, history = _run(miss)
    report = engine.radio()
    assert report["miss_p"] == pytest.approx(miss, abs=0.03)
    learned = report["miss_learned"]
    assert learned is not None
    assert learned == pytest.approx(miss, abs=0.03)
    assert report["miss_se"] is not None
    assert report["miss_se"] < LOSS_SE * learned
    assert history[-1][1] != MISS_P


def test_the_rate_is_not_used_before_its_error_bar_is_small() -> None:
    """Early estimates (a minute's uncertain posteriors) have a standard error over LOSS_SE of them: the rate stays
    MISS_P while they do; it moves only at a look whose standard error is under the bar."""
    _, history = _run(0.4, seed=2)
    early = [(t, used, se) for t, used, estimate, se in history if estimate is not None and se > LOSS_SE * estimate]
    assert early, "an estimate was made before it was precise enough"
    assert early[0][1] == MISS_P
    moves = [k for k in range(1, len(history)) if history[k][1] != history[k - 1][1]]
    assert moves
    for k in moves:
        _, _, estimate, se = history[k]
        assert estimate is not None
        assert se <= LOSS_SE * estimate
    first = moves[0]
    assert all(used == MISS_P for _, used, _, _ in history[:first])


def _draw(miss: float, opportunities: int, adverts: int, seed: int) -> tuple[np.ndarray, dict[tuple[int, ...], float]]:
    """``adverts`` adverts each with ``opportunities`` scanners sure to hear it (chance 1) but for the loss
    ``miss``; those no scanner heard are invisible (dropped), the rest only their opportunities could make visible
    (truncated): the statistics :class:`LossLearner` keeps."""
    rng = random.Random(seed)
    plain = np.zeros((2, _BINS))
    seen = 0.0
    for _ in range(adverts):
        heard = [rng.random() >= miss for _ in range(opportunities)]
        if not any(heard):
            continue
        seen += 1.0
        plain[0, -1] += sum(heard)
        plain[1, -1] += opportunities - sum(heard)
    return plain, {(_BINS - 1,) * opportunities: seen}


@pytest.mark.parametrize(("miss", "opportunities"), [(0.2, 2), (0.4, 2), (0.1, 3), (0.3, 4)])
def test_the_fit_takes_out_the_invisible_adverts(miss: float, opportunities: int) -> None:
    """Adverts no scanner heard never reach the engine: counted naively, two scanners losing 20 % show 11 %. The
    fit (a zero-truncated binomial) recovers the loss."""
    plain, truncated = _draw(miss, opportunities, 20_000, seed=3)
    naive = plain[1].sum() / plain.sum()
    assert naive == pytest.approx((miss - miss**opportunities) / (1.0 - miss**opportunities), abs=0.01)
    estimate, se = fit(plain, truncated)
    assert se < 0.01
    assert estimate == pytest.approx(miss, abs=max(0.01, 3.0 * se))


def test_a_lone_scanner_says_nothing() -> None:
    """One scanner alone, every advert it missed invisible: the truncated likelihood is flat (no rate is more
    likely) -- no standard error small enough to use."""
    plain, truncated = _draw(0.2, 1, 5_000, seed=4)
    assert plain[1].sum() == 0.0
    _, se = fit(plain, truncated)
    assert math.isinf(se) or se > LOSS_SE * 0.6
    assert LOSS_BOUNDS[0] <= MISS_P <= LOSS_BOUNDS[1]
