"""What a scanner hears from a shopper in each place: the emission model of the zone estimator.

RSSI = the advertiser's power at 1 m - 10 n log10(d) + shadowing, with ``n`` the path-loss exponent
(``PresenceConfig.path_loss_exponent``) and ``d`` the distance from the scanner. A shopper "in zone Z" or
"outside every zone" is not at one distance but anywhere in a region, so each (place, scanner) pair has a
**distance distribution**, kept as a histogram over :data:`DISTANCE_BINS_M` (log-spaced), and its
likelihood of an RSSI is the mixture over it of a Gaussian of :data:`~edge.constants_model.MODEL_SIGMA_DB`, plus a
uniform share :data:`~edge.constants_model.MODEL_OUTLIER_SHARE` (deep fades, reflections, a hand over the
phone): heavy-tailed, so one wild advert never decides, and robust to exponents of 1.8-3.2.

Where the distances come from:

- **with a layout** (``[[scanners]]`` positions; ``area_m`` or discs of ``radius_m`` around the zone's
  positioned scanners): points on a grid over the zone, and over the floor around the zones that is in no
  zone ("outside"), each at its 3-D distance from the scanner (mounting height minus
  :data:`~edge.constants_model.MODEL_DEVICE_HEIGHT_M`);
- **without one**: a zone's own scanners are *near* (uniform over the disc of ``radius_m``; with m scanners
  in the zone, near with weight 1/m -- the shopper stands at one of them -- and far otherwise), every other
  scanner is *far*, as it is for a shopper outside: anywhere on the floor (uniform by area) from
  ``radius_m`` to :data:`~edge.constants_model.MODEL_FAR_MAX_M`.

The tables are computed once, at start: the hot path only looks an integer RSSI up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from edge import constants_model as cm

__all__ = [
    "DISTANCE_BINS_M",
    "RSSI_MAX_DBM",
    "RSSI_MIN_DBM",
    "SENSITIVITY_DBM",
    "Histogram",
    "disc_histogram",
    "emission",
    "heard_share",
    "log_moments",
    "mean_log_distance",
    "mean_rssi",
    "mix",
    "points_histogram",
    "ring_histogram",
]

Histogram = list[float]
"""Weights over DISTANCE_BINS_M, summing to 1."""

RSSI_MIN_DBM = -110
RSSI_MAX_DBM = -10
"""The RSSI range of the lookup tables; readings beyond it are clamped to its ends."""

_BINS = 32
_D_MIN_M = 0.3
_D_MAX_M = 60.0
DISTANCE_BINS_M = tuple(_D_MIN_M * (_D_MAX_M / _D_MIN_M) ** ((i + 0.5) / _BINS) for i in range(_BINS))
"""Centres of the log-spaced distance bins, 0.3-60 m (about 18 % apart: 0.7 dB at n = 2.2)."""
_LOG_STEP = math.log(_D_MAX_M / _D_MIN_M) / _BINS


def _bin(distance_m: float) -> int:
    if distance_m <= _D_MIN_M:
        return 0
    return min(_BINS - 1, int(math.log(distance_m / _D_MIN_M) / _LOG_STEP))


def points_histogram(distances_m: Sequence[float]) -> Histogram:
    """The histogram of a set of distances (equal weights)."""
    weights = [0.0] * _BINS
    for d in distances_m:
        weights[_bin(d)] += 1.0
    total = sum(weights) or 1.0
    return [w / total for w in weights]


def disc_histogram(radius_m: float, height_m: float = 0.0, points: int = 64) -> Histogram:
    """Distances from a scanner ``height_m`` above the centre of a disc to points spread evenly over it."""
    return points_histogram([math.hypot(radius_m * math.sqrt((i + 0.5) / points), height_m) for i in range(points)])


def ring_histogram(low_m: float, high_m: float, points: int = 64) -> Histogram:
    """Distances to points spread evenly over the floor between ``low_m`` and ``high_m`` of the scanner."""
    high_m = max(high_m, low_m * 1.01)
    inner, outer = low_m * low_m, high_m * high_m
    return points_histogram([math.sqrt(inner + (outer - inner) * (i + 0.5) / points) for i in range(points)])


def mix(parts: Sequence[tuple[float, Histogram]]) -> Histogram:
    """The weighted mixture of histograms."""
    total = sum(weight for weight, _ in parts) or 1.0
    return [sum(weight * h[i] for weight, h in parts) / total for i in range(_BINS)]


def emission(hist: Histogram, power_1m_dbm: float, exponent: float, sigma_db: float) -> list[float]:
    """Likelihood of each integer RSSI (RSSI_MIN_DBM..RSSI_MAX_DBM) for a shopper distributed as ``hist``."""
    outlier = cm.MODEL_OUTLIER_SHARE / (RSSI_MAX_DBM - RSSI_MIN_DBM + 1)
    norm = (1.0 - cm.MODEL_OUTLIER_SHARE) / (sigma_db * math.sqrt(2.0 * math.pi))
    spread = cm.MODEL_EXPONENT_SPREAD
    means = [
        (w / len(spread), power_1m_dbm - 10.0 * (exponent + dn) * math.log10(d))
        for w, d in zip(hist, DISTANCE_BINS_M, strict=True)
        if w > 0
        for dn in spread
    ]
    table = []
    for rssi in range(RSSI_MIN_DBM, RSSI_MAX_DBM + 1):
        density = sum(w * math.exp(-0.5 * ((rssi - mean) / sigma_db) ** 2) for w, mean in means)
        table.append(outlier + norm * density)
    return table


SENSITIVITY_DBM = -95.0
"""A BLE receiver's sensitivity (data sheets: -95 to -100 dBm): quieter adverts are not reported."""


def heard_share(hist: Histogram, power_1m_dbm: float, exponent: float, sigma_db: float) -> float:
    """P(a scanner reports an advert it did not lose | a shopper distributed as ``hist``): within
    MODEL_FAR_MAX_M and above SENSITIVITY_DBM (a deep fade of the outlier share counts as unheard)."""
    share = 0.0
    for w, d in zip(hist, DISTANCE_BINS_M, strict=True):
        if w > 0.0 and d <= cm.MODEL_FAR_MAX_M:
            mean = power_1m_dbm - 10.0 * exponent * math.log10(d)
            share += w * 0.5 * (1.0 + math.erf((mean - SENSITIVITY_DBM) / (sigma_db * math.sqrt(2.0))))
    return share * (1.0 - cm.MODEL_OUTLIER_SHARE)


def mean_rssi(hist: Histogram, power_1m_dbm: float, exponent: float) -> float:
    """The RSSI a scanner hears on average from a shopper distributed as ``hist`` (shadowing averages out)."""
    return sum(w * (power_1m_dbm - 10.0 * exponent * math.log10(d)) for w, d in zip(hist, DISTANCE_BINS_M, strict=True))


def log_moments(
    hist: Histogram, power_1m_dbm: float, exponent: float, sigma_db: float
) -> tuple[tuple[float, float], ...]:
    """Per integer RSSI (RSSI_MIN_DBM..RSSI_MAX_DBM): E[log10 d] and E[(log10 d)^2] of a shopper distributed as
    ``hist`` *given* that reading -- the E-step of the radio learner (a loud reading from a place metres wide
    came from its near part). Shadowing Gaussian of ``sigma_db``; the outlier share leaves the prior."""
    outlier = cm.MODEL_OUTLIER_SHARE / (RSSI_MAX_DBM - RSSI_MIN_DBM + 1)
    norm = (1.0 - cm.MODEL_OUTLIER_SHARE) / (sigma_db * math.sqrt(2.0 * math.pi))
    bins = [
        (w, power_1m_dbm - 10.0 * exponent * math.log10(d), math.log10(d))
        for w, d in zip(hist, DISTANCE_BINS_M, strict=True)
        if w > 0.0
    ]
    found = []
    for rssi in range(RSSI_MIN_DBM, RSSI_MAX_DBM + 1):
        total = first = second = 0.0
        for w, mean, v in bins:
            r = w * (outlier + norm * math.exp(-0.5 * ((rssi - mean) / sigma_db) ** 2))
            total += r
            first += r * v
            second += r * v * v
        found.append((first / total, second / total) if total > 0.0 else (0.0, 0.0))
    return tuple(found)


def mean_log_distance(hist: Histogram) -> float:
    """E[log10 d] for a shopper distributed as ``hist``."""
    return sum(w * math.log10(d) for w, d in zip(hist, DISTANCE_BINS_M, strict=True))
