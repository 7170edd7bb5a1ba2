"""The store as the zone estimator sees it: states, which zones touch, and each scanner's emission table.

States are ``0`` = outside every zone and ``1..n`` = the configured zones in order. A zone's floor region is
its ``area_m`` rectangle, else the discs of ``radius_m`` around its positioned scanners (``[[scanners]]``),
else unknown (then :mod:`edge.radio_model`'s near/far model from zone membership applies). Two zones are
**adjacent** -- a shopper may walk from one straight into the other -- when their regions come within
:data:`~edge.constants.MODEL_ADJACENT_GAP_M` of each other or they share a scanner.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from edge import constants as c
from edge import radio_model as rm
from edge.config import PresenceConfig, ScannerConfig, ZoneConfig

__all__ = ["Layout"]

Shape = tuple[str, float, float, float, float]
"""``("rect", x0, y0, x1, y1)`` or ``("disc", x, y, r, 0)``."""


def _contains(shapes: Sequence[Shape], x: float, y: float) -> bool:
    for kind, a, b, e, f in shapes:
        if kind == "rect":
            if a <= x <= e and b <= y <= f:
                return True
        elif (x - a) ** 2 + (y - b) ** 2 <= e * e:
            return True
    return False


def _gap(s: Shape, t: Shape) -> float:
    """Shortest distance between two shapes (0 when they touch or overlap)."""
    if s[0] == "disc" and t[0] == "disc":
        return max(0.0, math.hypot(s[1] - t[1], s[2] - t[2]) - s[3] - t[3])
    if s[0] == "rect" and t[0] == "rect":
        dx = max(0.0, t[1] - s[3], s[1] - t[3])
        dy = max(0.0, t[2] - s[4], s[2] - t[4])
        return math.hypot(dx, dy)
    rect, disc = (s, t) if s[0] == "rect" else (t, s)
    dx = max(0.0, rect[1] - disc[1], disc[1] - rect[3])
    dy = max(0.0, rect[2] - disc[2], disc[2] - rect[4])
    return max(0.0, math.hypot(dx, dy) - disc[3])


def _bounds(shapes: Sequence[Shape]) -> tuple[float, float, float, float]:
    boxes = [(a, b, e, f) if kind == "rect" else (a - e, b - e, a + e, b + e) for kind, a, b, e, f in shapes]
    return min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)


def _grid(x0: float, y0: float, x1: float, y1: float) -> list[tuple[float, float]]:
    step = max(c.MODEL_GRID_STEP_M, math.sqrt((x1 - x0) * (y1 - y0) / c.MODEL_GRID_MAX_POINTS))
    nx, ny = max(1, round((x1 - x0) / step)), max(1, round((y1 - y0) / step))
    return [(x0 + (i + 0.5) * (x1 - x0) / nx, y0 + (j + 0.5) * (y1 - y0) / ny) for i in range(nx) for j in range(ny)]


class Layout:
    """See the module docstring. ``tables[scanner][rssi - RSSI_MIN_DBM]`` = likelihood per state (max 1)."""

    def __init__(
        self, zones: Sequence[ZoneConfig], presence: PresenceConfig, scanners: Sequence[ScannerConfig] = ()
    ) -> None:
        self.zone_ids = tuple(zone.id for zone in zones)
        n = len(zones)
        positions = {s.id: (s.x_m, s.y_m, s.height_m - c.MODEL_DEVICE_HEIGHT_M) for s in scanners}
        self.offsets = {s.id: s.offset_db for s in scanners}
        regions: list[list[Shape]] = []
        for zone in zones:
            if zone.area_m is not None:
                regions.append([("rect", *zone.area_m)])
            else:
                placed = [positions[s] for s in zone.scanners if s in positions]
                regions.append([("disc", x, y, zone.radius_m, 0.0) for x, y, _ in placed])
        self.members: dict[str, tuple[int, ...]] = {}
        for k, zone in enumerate(zones, start=1):
            for s in zone.scanners:
                self.members[s] = (*self.members.get(s, ()), k)
        adjacent: list[set[int]] = [set() for _ in range(n + 1)]
        for i in range(n):
            for j in range(i + 1, n):
                shared = set(zones[i].scanners) & set(zones[j].scanners)
                near = any(_gap(s, t) <= c.MODEL_ADJACENT_GAP_M for s in regions[i] for t in regions[j])
                if shared or near:
                    adjacent[i + 1].add(j + 1)
                    adjacent[j + 1].add(i + 1)
        self.adjacent = tuple(tuple(sorted(a)) for a in adjacent)
        known = [shape for region in regions for shape in region]
        outside: list[tuple[float, float]] = []
        if known:
            x0, y0, x1, y1 = _bounds(known)
            margin = c.MODEL_OUTSIDE_MARGIN_M
            cells = _grid(x0 - margin, y0 - margin, x1 + margin, y1 + margin)
            outside = [(x, y) for x, y in cells if not any(_contains(r, x, y) for r in regions)]
        zone_points = [[p for shape in r for p in _grid(*_bounds([shape])) if _contains([shape], *p)] for r in regions]
        power, exponent = presence.measured_power_1m_dbm, presence.path_loss_exponent
        mean_radius = sum(zone.radius_m for zone in zones) / n if n else c.ZONE_RADIUS_M
        self.tables: dict[str, list[tuple[float, ...]]] = {}
        for scanner in sorted(set(self.members) | (set(positions) if known else set())):
            where = positions.get(scanner)
            hists: list[rm.Histogram] = []
            own = [zones[k - 1].radius_m for k in self.members.get(scanner, ())]
            r_out = min(own) if own else mean_radius
            far_out = rm.ring_histogram(r_out, c.MODEL_FAR_MAX_M)
            if where is not None and outside:
                sx, sy, dz = where
                near_pts = rm.points_histogram([math.hypot(x - sx, y - sy, dz) for x, y in outside])
                hists.append(rm.mix([(1.0 - c.MODEL_FAR_SHARE, near_pts), (c.MODEL_FAR_SHARE, far_out)]))
            else:
                hists.append(far_out)
            for k, zone in enumerate(zones, start=1):
                points = zone_points[k - 1]
                if where is not None and points:
                    sx, sy, dz = where
                    hists.append(rm.points_histogram([math.hypot(x - sx, y - sy, dz) for x, y in points]))
                elif scanner in zone.scanners:
                    share = 1.0 / len(zone.scanners)
                    disc = rm.disc_histogram(zone.radius_m)
                    far = rm.ring_histogram(zone.radius_m, c.MODEL_FAR_MAX_M)
                    hists.append(rm.mix([(share, disc), (1.0 - share, far)]))
                else:
                    hists.append(rm.ring_histogram(zone.radius_m, c.MODEL_FAR_MAX_M))
            columns = [rm.emission(h, power, exponent, c.MODEL_SIGMA_DB) for h in hists]
            rows = []
            for values in zip(*columns, strict=True):
                top = max(values)
                rows.append(tuple(max(v / top, c.MODEL_LIKELIHOOD_FLOOR) for v in values))
            self.tables[scanner] = rows
