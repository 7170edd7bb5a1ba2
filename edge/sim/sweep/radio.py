"""The radio channel of a sweep cell, every parameter explicit (the engines never see them).

RSSI at a scanner = the device's real power at 1 m - 10 n log10(d) (d in 3-D: the scanner's height
above the phone counts) + N(0, sigma) shadowing - ``wall_db`` outside the building - a body-shadowing
burst while one is on - a deep fade now and then + the scanner's own calibration error; missed
with probability ``miss``, unheard beyond ``range_m`` or below ``sensitivity_dbm``. The defaults
are those of the bundled simulator (:mod:`edge.sim.radio`), so the base cell is today's store.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace

from edge.sim import radio as base

MIN_DISTANCE_M = 0.3
"""The log-distance model is clamped here (near field)."""


@dataclass(frozen=True, slots=True)
class Radio:
    exponent: float = base.PATH_LOSS_EXPONENT
    sigma_db: float = base.SHADOWING_SIGMA_DB
    miss: float = base.MISS_PROBABILITY
    fade_p: float = base.OUTLIER_PROBABILITY
    fade_db: tuple[float, float] = base.OUTLIER_DB
    body_rate_hz: float = base.BODY_SHADOW_RATE_HZ
    body_s: tuple[float, float] = base.BODY_SHADOW_S
    body_db: tuple[float, float] = base.BODY_SHADOW_DB
    wall_db: float = base.WALL_LOSS_DB
    range_m: float = base.HEARING_RANGE_M
    sensitivity_dbm: float = base.SENSITIVITY_DBM
    calibration_sigma_db: float = base.CALIBRATION_SIGMA_DB
    """How far a device's declared power at 1 m is off from its real power."""
    scanner_error_db: tuple[tuple[str, float], ...] = ()
    """Scanners whose reported RSSI is off by this much (a badly calibrated or shadowed receiver)."""

    def but(self, **changes: object) -> Radio:
        return replace(self, **changes)  # type: ignore[arg-type]

    def errors(self) -> dict[str, float]:
        return dict(self.scanner_error_db)

    def hear(
        self,
        rng: random.Random,
        power_dbm: float,
        x: float,
        y: float,
        outside: bool,
        body_db: float,
        scanners: Sequence[tuple[str, float, float, float, float]],
    ) -> list[tuple[str, int]]:
        """One advert sent at (x, y) as each of ``scanners`` (id, x, y, its height above the phone squared, its
        calibration error) reports it, in their order: (id, RSSI) of those that heard it. ``body_db``: the body
        shadowing on at the time. Per scanner: the mean at the 3-D distance (the log-distance model, clamped at
        :data:`MIN_DISTANCE_M`) + N(0, sigma) + its error - the body, - the wall outside, - a deep fade now and
        then; missed with probability ``miss``, unheard beyond ``range_m`` or below ``sensitivity_dbm``. The
        draws per scanner: miss (within range), shadowing and fade (heard), the fade's depth (faded)."""
        found: list[tuple[str, int]] = []
        random_, sqrt, log10, log, cos, sin = rng.random, math.sqrt, math.log10, math.log, math.cos, math.sin
        spare: float | None = rng.gauss_next  # type: ignore[attr-defined]  # (random.gauss in line: _TWO_PI)
        reach, miss, sigma, slope = self.range_m, self.miss, self.sigma_db, 10.0 * self.exponent
        wall = self.wall_db if outside else 0.0
        fade_p, floor = self.fade_p, self.sensitivity_dbm
        for scanner, sx, sy, dh2, error in scanners:
            dx, dy = x - sx, y - sy
            distance = sqrt(dx * dx + dy * dy + dh2)
            if distance > reach or random_() < miss:
                continue
            near = distance if distance > MIN_DISTANCE_M else MIN_DISTANCE_M
            if spare is None:  # (random.gauss: two normals from two uniforms, the second kept for the next draw)
                x2pi = random_() * _TWO_PI
                g2rad = sqrt(-2.0 * log(1.0 - random_()))
                z = cos(x2pi) * g2rad
                spare = sin(x2pi) * g2rad
            else:
                z, spare = spare, None
            rssi = power_dbm - slope * log10(near) + (0.0 + z * sigma) + (error - body_db)
            if outside:
                rssi -= wall
            if random_() < fade_p:
                rssi -= rng.uniform(*self.fade_db)
            if rssi >= floor:
                level = round(rssi)
                found.append((scanner, level if level < 20 else 20))
        rng.gauss_next = spare  # type: ignore[attr-defined]  # (its kept draw, back: rng.gauss goes on from it)
        return found


_TWO_PI = math.tau
"""random's TWOPI: :meth:`Radio.hear` draws its shadowing as ``random.Random.gauss`` of CPython 3.11 does (a pair of
normals from two uniforms, the second kept in ``gauss_next``), in line: a call per reading less, the same numbers
(tests/test_sweep_cpu.py checks them against ``gauss``)."""
