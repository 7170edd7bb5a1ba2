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

    def mean_dbm(self, power_dbm: float, distance_m: float) -> float:
        return power_dbm - 10.0 * self.exponent * math.log10(max(distance_m, MIN_DISTANCE_M))

    def sample(
        self, rng: random.Random, power_dbm: float, distance_m: float, outside: bool, extra_db: float
    ) -> int | None:
        """One advert's RSSI at one scanner (``extra_db``: body shadowing plus the scanner's error), or None."""
        if distance_m > self.range_m or rng.random() < self.miss:
            return None
        rssi = self.mean_dbm(power_dbm, distance_m) + rng.gauss(0.0, self.sigma_db) + extra_db
        if outside:
            rssi -= self.wall_db
        if rng.random() < self.fade_p:
            rssi -= rng.uniform(*self.fade_db)
        if rssi < self.sensitivity_dbm:
            return None
        return min(round(rssi), 20)
