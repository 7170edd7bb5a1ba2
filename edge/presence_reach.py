"""Where a zone ends, in the threshold engine's terms (:mod:`edge.presence`, issue #13).

The threshold engine compares levels (dBm, for a reference phone) with bars; these turn a zone's
floor and its scanner's height into those bars and back into distances across the floor, by the
path-loss relation the engine already assumes (``measured_power_1m_dbm``, ``path_loss_exponent``):

- :func:`enter_bar`: the zone's enter threshold, the operator's ``enter_rssi_dbm`` if set, else
  derived from the zone's floor area and its scanner's height (never below ENTER_RSSI_DBM);
- :func:`scanner_above_m`: how far the zone's scanner hangs above a phone;
- :func:`edge_radius_m`: how far across the floor a level lies from the scanner (the zone's exit
  threshold: where "out" begins; the last level heard: where the shopper stood).

Pure: no state, no clock.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from edge import constants as c
from edge.config import ScannerConfig, ZoneConfig

__all__ = ["edge_radius_m", "enter_bar", "scanner_above_m"]


def enter_bar(zone: ZoneConfig, exponent: float, scanners: Sequence[ScannerConfig] = ()) -> float:
    """The zone's enter threshold (dBm): the operator's ``enter_rssi_dbm`` if set, else derived.

    ENTER_RSSI_DBM is one distance from the scanner in 3-D: the edge of the default zone, the disc of
    ZONE_RADIUS_M (R) under a scanner at the default height, h0 above the phone. A smaller zone
    (``area_m``'s rectangle, or a disc of a smaller ``radius_m``) has its bar where the edge of the
    disc of the same floor area (radius r) is, in 3-D under its own scanner (h above the phone):
    10 n log10(sqrt(R^2 + h0^2) / sqrt(r^2 + h^2)) dB higher, never lower. h is the zone's highest
    positioned scanner's ``height_m`` less MODEL_DEVICE_HEIGHT_M (the least shift), else h0. Under
    a high scanner the edge of a small zone is already about as far as the default bar's distance,
    so the bar barely moves (raising it by the same-height formula shut tile visits out). A shopper
    on the walkway beside a 5 x 2.5 m shelf zone passes 3.25 m from its scanner, outside the zone
    but inside the default bar (the L-shaped store of the sweep: docs/presence.md). A larger zone
    keeps the default: a lower bar lets ghosts in from further away."""
    if zone.enter_rssi_dbm is not None:
        return zone.enter_rssi_dbm  # the operator's own, always
    if zone.area_m is not None:
        x0, y0, x1, y1 = zone.area_m
        reach_m = math.sqrt((x1 - x0) * (y1 - y0) / math.pi)
    else:
        reach_m = zone.radius_m
    if reach_m >= c.ZONE_RADIUS_M:
        return c.ENTER_RSSI_DBM
    above_m = scanner_above_m(zone, scanners)
    default_above_m = c.SCANNER_HEIGHT_M - c.MODEL_DEVICE_HEIGHT_M
    ratio = math.hypot(c.ZONE_RADIUS_M, default_above_m) / math.hypot(reach_m, above_m)
    return c.ENTER_RSSI_DBM + max(10.0 * exponent * math.log10(ratio), 0.0)


def scanner_above_m(zone: ZoneConfig, scanners: Sequence[ScannerConfig]) -> float:
    """How far the zone's highest positioned scanner hangs above a phone (else the default height's)."""
    heights = [s.height_m for s in scanners if s.id in zone.scanners]
    return max(max(heights, default=c.SCANNER_HEIGHT_M) - c.MODEL_DEVICE_HEIGHT_M, 0.0)


def edge_radius_m(reference_dbm: float, level_dbm: float, exponent: float, above_m: float) -> float:
    """How far across the floor from its scanner (hanging ``above_m`` over a phone) a level lies (a
    zone's exit threshold, or the last level heard): its 3-D distance by the path-loss relation, less
    the height (0 right under the scanner)."""
    reach_m = 10.0 ** ((reference_dbm - level_dbm) / (10.0 * exponent))
    return math.sqrt(max(reach_m * reach_m - above_m * above_m, 0.0))
