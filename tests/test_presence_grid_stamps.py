"""One advert, several stamps (edge/presence_grid.py ``SAME_ADVERT_S``): each radio stamps what it hears itself, so
the readings of one advert by several scanners come a few ms apart. The grid takes them as one advert -- the
posterior the same as with one stamp -- where it used to take each for an advert of its own, every other scanner
silent for it."""

from __future__ import annotations

import random

import numpy as np
import pytest

from edge import presence_grid
from edge.presence import Sighting
from edge.presence_grid import GridEstimator
from edge.sim.sweep.cells import CELLS

START = 1_800_000_000.0
TICK_S = 0.25
LEVELS = (-55, -70, -80, -88)
"""One shopper standing in the produce zone: its readings by the first four scanners (dBm), give or take 2."""


def _posterior(jitter_s: float) -> dict[str | None, float]:
    """Twenty adverts a second apart, each heard by four scanners, stamped ``jitter_s`` apart at most (the order of
    the scanners shuffled); ticks every 0.25 s, none inside an advert. The shopper's posterior at the end."""
    config = CELLS[0].layout.config()
    engine = GridEstimator(config.zones, config.presence, config.scanners, config.floor)
    ids = [s.id for s in config.scanners][: len(LEVELS)]
    rng = random.Random(7)
    tick = START
    for k in range(20):
        advert = START + k + 0.6
        while tick + TICK_S <= advert + 0.1:
            tick += TICK_S
            if tick < advert or tick > advert + jitter_s:
                engine.tick(tick)
        order = list(range(len(ids)))
        rng.shuffle(order)
        for i, j in enumerate(order):
            at = advert + jitter_s * i / (len(ids) - 1)
            engine.observe(Sighting("tok-1", "eid", ids[j], LEVELS[j] + rng.choice((-2, 0, 2)), -59.0, at))
    engine.tick(tick + TICK_S)
    return engine.posterior("tok-1")


def test_one_adverts_readings_a_few_ms_apart_are_one_advert() -> None:
    exact = _posterior(0.0)
    for jitter_s in (0.002, 0.005, 0.02):
        stamped = _posterior(jitter_s)
        assert stamped.keys() == exact.keys()
        assert np.allclose([stamped[k] for k in exact], [exact[k] for k in exact], atol=1e-9), jitter_s


def test_each_reading_an_advert_of_its_own_was_not_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before session 41 (one stamp, one advert): the same readings 5 ms apart gave another posterior -- each
    reading closed with the other three scanners silent, which took the shopper half out of the zone (produce 0.74
    with one stamp, 0.54 with four)."""
    exact = _posterior(0.0)
    assert exact["produce"] > 0.7
    monkeypatch.setattr(presence_grid, "SAME_ADVERT_S", 0.0)
    apart = _posterior(0.005)
    assert apart["produce"] < exact["produce"] - 0.15


def test_the_sweep_stamps_each_reading_apart_when_asked() -> None:
    """``benchmarks/presence_sweep.py --stamp-jitter-ms``: every reading once, stamped 0 to the most later, arriving
    in the moved order, the same draw for every engine."""
    from benchmarks.presence_sweep import jittered
    from edge.sim.sweep import simulate

    run = simulate(CELLS[0], 1, minutes=1.0, shoppers=3)
    heard = jittered(0.005)(run)
    assert heard == jittered(0.005)(run)
    assert all(at == s.at for at, s in heard)
    moved = [at for at, _ in heard]
    assert moved == sorted(moved)
    assert sorted((s.token, s.scanner, s.rssi) for _, s in heard) == sorted(
        (s.token, s.scanner, s.rssi) for s in run.sightings
    )
    true = sorted(s.at for s in run.sightings)  # (each moved by 0-5 ms: so is each order statistic)
    assert len(true) > 100
    assert all(0.0 <= m - t <= 0.005 for m, t in zip(moved, true, strict=True))
    assert any(m != t for m, t in zip(moved, true, strict=True))


@pytest.mark.parametrize(
    ("option", "value", "bounds"),
    [("--stamp-jitter-ms", v, "ms from 0 to 1000") for v in ("-1", "nan", "inf", "1e12")]
    + [("--device-sigma-db", v, "dB from 0 to 10") for v in ("-1", "nan", "inf", "11")],
)
def test_the_sweep_refuses_a_stamp_jitter_or_device_spread_out_of_range(
    option: str, value: str, bounds: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Negative, not a number, or more than a second of stamps (hours of moved stamps would be ticked through every
    0.25 s) or 10 dB of devices' spread (phone models differ by several dB, not tens: edge/presence_grid_devices.py):
    refused by name before anything runs."""
    from benchmarks.presence_sweep import main

    with pytest.raises(SystemExit) as exited:
        main([f"{option}={value}"])
    assert exited.value.code == 2
    assert f"{option}: {bounds}" in capsys.readouterr().err
