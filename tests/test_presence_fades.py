"""Deep fades and the threshold engine's exit (edge.presence_sure ``FADE_DB``, session 33).

A multipath null drops one advert's reading 15-30 dB under where the shopper stands; shadowing moves readings a few
dB either way. The exit's line (the level *now*, :func:`~edge.presence_sure.present_level`) was a least-squares fit,
which two or three such readings in a window drag down by several dB -- an exit, and the shopper entered again a
second or two later (the sweep's fading cells: every split there was such an exit). The line now sets aside the
readings that lie FADE_DB under a robust line (the median of the pairwise slopes) before it is drawn. Pure core,
clock injected.
"""

from __future__ import annotations

import random

import pytest

from edge import constants as c
from edge import presence_sure
from edge.presence_sure import present_level
from edge.rssi import RssiWindow
from tests.test_presence_sure_exit import HZ, STRONG_DBM, T0, engine, heard

FADE_P = 0.15
"""The share of adverts in a deep fade (the sweep's "deep fades 5x as often" cell: 8 % x 5 at most)."""


def faded(seed: int, level_dbm: float, seconds: float = 120.0) -> list[float]:
    """Walk in strong for 5 s, then stand reading ``level_dbm`` with 5 dB of shadowing and FADE_P deep fades."""
    rng = random.Random(seed)
    levels = [STRONG_DBM] * 20
    for _ in range(int(seconds * HZ)):
        value = level_dbm + rng.gauss(0.0, 5.0)
        if rng.random() < FADE_P:
            value -= rng.uniform(15.0, 30.0)
        levels.append(value)
    return levels


def _window(values: list[float]) -> RssiWindow:
    window = RssiWindow(c.RSSI_HISTORY_S)
    for i, value in enumerate(values):
        window.add(T0 + i / HZ, value)
    return window


FLAT = [-66.0 + (1.0 if i % 2 else -1.0) for i in range(20)]
FADES = {4: -25.0, 11: -20.0, 18: -28.0}


def test_deep_fades_are_set_aside_from_the_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """A shopper standing at -66 dBm, three readings of twenty in deep fades, one of them the last but one: the
    present level is where the shopper stands; the least-squares line through every reading is several dB under."""
    values = [v + FADES.get(i, 0.0) for i, v in enumerate(FLAT)]
    now = T0 + 19 / HZ
    found = present_level(_window(values), now)
    assert found is not None
    assert found[0] == pytest.approx(-66.0, abs=1.0)
    monkeypatch.setattr(presence_sure, "FADE_DB", None)
    plain = present_level(_window(values), now)
    assert plain is not None
    assert plain[0] < found[0] - 3.0


def test_a_falling_line_keeps_every_reading() -> None:
    """A walker leaving (-1.5 dB a second, 3 dB either way): no reading is FADE_DB under the line; the level is
    the least-squares one."""
    rng = random.Random(3)
    values = [-60.0 - 1.5 * i / HZ + rng.uniform(-3.0, 3.0) for i in range(20)]
    now = T0 + 19 / HZ
    found = present_level(_window(values), now)
    ats = [T0 + i / HZ for i in range(20)]
    mean_t, mean_r = sum(ats) / 20, sum(values) / 20
    slope = sum((t - mean_t) * (r - mean_r) for t, r in zip(ats, values, strict=True)) / sum(
        (t - mean_t) ** 2 for t in ats
    )
    assert found is not None
    assert found[0] == pytest.approx(mean_r + slope * (now - mean_t), abs=1e-9)


@pytest.mark.parametrize("level_dbm", [-66.0, -68.0])
def test_a_shopper_standing_through_deep_fades_is_seldom_split(
    monkeypatch: pytest.MonkeyPatch, level_dbm: float
) -> None:
    """Twenty shoppers standing two minutes 5-7 dB over the exit bar, 15 % of adverts in deep fades: the line that
    sets fades aside splits their visits a third as often or less (measured at -66 / -68 dBm: 9 / 34 exits against
    55 / 108)."""
    exits = sum(e.kind == "exited" for seed in range(20) for e in heard(engine(), faded(seed, level_dbm)))
    monkeypatch.setattr(presence_sure, "FADE_DB", None)
    before = sum(e.kind == "exited" for seed in range(20) for e in heard(engine(), faded(seed, level_dbm)))
    assert exits * 3 <= before, (exits, before)
