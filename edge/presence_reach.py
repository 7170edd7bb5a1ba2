"""Where a zone ends, in the threshold engine's terms (:mod:`edge.presence`, issue #13).

The threshold engine compares levels (dBm, for a reference phone) with bars; these turn a zone's
floor and its scanner's height into those bars and back into distances across the floor, by the
path-loss relation the engine already assumes (``measured_power_1m_dbm``, ``path_loss_exponent``):

- :func:`enter_bar`: the zone's enter threshold, the operator's ``enter_rssi_dbm`` if set, else
  derived from the zone's floor area and its scanner's height (never below ENTER_RSSI_DBM);
- :func:`exit_bar`: the zone's exit threshold, ``exit_rssi_dbm`` -- lowered, when the enter bar is the
  engine's, for a zone whose furthest point lies further from its scanner than the default zone's
  edge (a higher scanner, a larger floor; never raised);
- :func:`scanner_above_m`: how far the zone's scanner hangs above a phone;
- :func:`edge_radius_m`: how far across the floor a level lies from the scanner (the zone's exit
  threshold: where "out" begins; the last level heard: where the shopper stood).

Pure: no state, no clock.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from edge import constants as c
from edge import constants_model as cm
from edge.config import ScannerConfig, ZoneConfig

__all__ = ["edge_radius_m", "enter_bar", "exit_bar", "scanner_above_m"]


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
    reach_m = _reach_m(zone)
    if reach_m >= cm.ZONE_RADIUS_M:
        return c.ENTER_RSSI_DBM
    return c.ENTER_RSSI_DBM + max(-_further_db(reach_m, exponent, scanner_above_m(zone, scanners)), 0.0)


def exit_bar(zone: ZoneConfig, exponent: float, scanners: Sequence[ScannerConfig] = ()) -> float:
    """The zone's exit threshold (dBm): the operator's ``exit_rssi_dbm`` if set, else derived.

    EXIT_RSSI_DBM lies 3.7 dB below the level at the default zone's edge (the disc of ZONE_RADIUS_M
    under a scanner h0 above the phone): the margin that keeps a shopper standing at the edge, under
    shadowing, from reading as gone. A zone whose furthest point is further from its scanner in 3-D
    -- a scanner hung higher (2.3 m over the phone: a 3 m disc's edge 3.8 m away, 1.9 dB weaker, only
    1.8 dB above EXIT_RSSI_DBM), or a larger floor (``area_m``'s corner: half its diagonal; else
    ``radius_m``) -- has its exit threshold lowered by 10 n log10(sqrt(r^2 + h^2) / sqrt(R^2 + h0^2)) dB,
    so a shopper in its furthest corner keeps the default's margin. The furthest point, not the disc
    of the same area that :func:`enter_bar` reads: a shopper in a corner is in the zone, while the
    enter bar is there to keep the walkway beside a shelf out. Never raised (raising it with a raised
    enter bar cut exits short, docs/presence.md). Only while both bars are the engine's: an operator who
    wrote ``exit_rssi_dbm`` gets it, always; one who wrote ``enter_rssi_dbm`` set the zone's bounds by hand
    and gets EXIT_RSSI_DBM."""
    if zone.exit_rssi_dbm is not None:
        return zone.exit_rssi_dbm  # the operator's own, always
    if zone.enter_rssi_dbm is not None:
        return c.EXIT_RSSI_DBM
    if zone.area_m is not None:
        x0, y0, x1, y1 = zone.area_m
        furthest_m = math.hypot(x1 - x0, y1 - y0) / 2.0
    else:
        furthest_m = zone.radius_m
    return c.EXIT_RSSI_DBM - max(_further_db(furthest_m, exponent, scanner_above_m(zone, scanners)), 0.0)


def _further_db(reach_m: float, exponent: float, above_m: float) -> float:
    """How much weaker (dB) a point ``reach_m`` across the floor from a scanner ``above_m`` over the
    phone is heard than the default zone's edge (ZONE_RADIUS_M under h0); < 0: louder."""
    default_above_m = cm.SCANNER_HEIGHT_M - cm.MODEL_DEVICE_HEIGHT_M
    ratio = math.hypot(reach_m, above_m) / math.hypot(cm.ZONE_RADIUS_M, default_above_m)
    return 10.0 * exponent * math.log10(ratio)


def _reach_m(zone: ZoneConfig) -> float:
    """The radius of the disc of the zone's floor area (``area_m``'s rectangle), else ``radius_m``."""
    if zone.area_m is not None:
        x0, y0, x1, y1 = zone.area_m
        return math.sqrt((x1 - x0) * (y1 - y0) / math.pi)
    return zone.radius_m


def scanner_above_m(zone: ZoneConfig, scanners: Sequence[ScannerConfig]) -> float:
    """How far the zone's highest positioned scanner hangs above a phone (else the default height's)."""
    heights = [s.height_m for s in scanners if s.id in zone.scanners]
    return max(max(heights, default=cm.SCANNER_HEIGHT_M) - cm.MODEL_DEVICE_HEIGHT_M, 0.0)


def edge_radius_m(reference_dbm: float, level_dbm: float, exponent: float, above_m: float) -> float:
    """How far across the floor from its scanner (hanging ``above_m`` over a phone) a level lies (a
    zone's exit threshold, or the last level heard): its 3-D distance by the path-loss relation, less
    the height (0 right under the scanner)."""
    reach_m = 10.0 ** ((reference_dbm - level_dbm) / (10.0 * exponent))
    return math.sqrt(max(reach_m * reach_m - above_m * above_m, 0.0))
