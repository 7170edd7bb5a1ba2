"""The store as the zone estimator sees it: its places, which places touch, and each scanner's emission table.

**Places** (the estimator's hidden states): ``0`` = *far* (in no zone and not near one: the street, the
back of the store), ``1..n`` = the configured zones in order, ``n+1..2n`` = the *surroundings* of each
zone (the floor within :data:`~edge.constants.MODEL_RING_M` of it, nearer to it than to any other zone,
in no zone). "No zone" is far plus every surrounding. Splitting "no zone" by where it is keeps what the
scanners hear *jointly*: a shopper a few metres from zone A's scanner and far from all others is
"beside A", not "in A" -- a single "outside" state, a mixture over the whole floor per scanner, could
not tell the two apart and held shoppers walking away in the zone for 10-15 s.

A zone's floor region is its ``area_m`` rectangle, else the discs of ``radius_m`` around its positioned
scanners (``[[scanners]]``), else unknown (then :mod:`edge.radio_model`'s near/far model from zone
membership applies: a zone's surroundings are the ring of :data:`~edge.constants.MODEL_RING_M` around
its scanners' discs). Two places **touch** -- a shopper walks from one straight into the other -- when
they are neighbours on the layout's grid, or zones whose regions come within
:data:`~edge.constants.MODEL_ADJACENT_GAP_M` of each other or share a scanner; a zone always touches
its own surroundings, and far touches every surrounding without a layout.
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
    return _grid_shape(x0, y0, x1, y1)[2]


def _grid_shape(x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, list[tuple[float, float]]]:
    """(nx, ny, points): point (i, j) is at index i * ny + j."""
    step = max(c.MODEL_GRID_STEP_M, math.sqrt((x1 - x0) * (y1 - y0) / c.MODEL_GRID_MAX_POINTS))
    nx, ny = max(1, round((x1 - x0) / step)), max(1, round((y1 - y0) / step))
    points = [(x0 + (i + 0.5) * (x1 - x0) / nx, y0 + (j + 0.5) * (y1 - y0) / ny) for i in range(nx) for j in range(ny)]
    return nx, ny, points


def _distance(shapes: Sequence[Shape], x: float, y: float) -> float:
    """Distance from (x, y) to the nearest of ``shapes`` (0 inside)."""
    best = math.inf
    for kind, a, b, e, f in shapes:
        if kind == "rect":
            d = math.hypot(max(a - x, 0.0, x - e), max(b - y, 0.0, y - f))
        else:
            d = max(0.0, math.hypot(x - a, y - b) - e)
        best = min(best, d)
    return best


class Layout:
    """See the module docstring. ``tables[scanner][b][rssi - RSSI_MIN_DBM]`` = likelihood per place (max 1)
    raised to the evidence weight (b + 1) / MODEL_EVIDENCE_STEPS;
    ``touches[i]`` = the places a shopper in place ``i`` can walk straight into."""

    def __init__(
        self, zones: Sequence[ZoneConfig], presence: PresenceConfig, scanners: Sequence[ScannerConfig] = ()
    ) -> None:
        self.zone_ids = tuple(zone.id for zone in zones)
        n = self.n = len(zones)
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
        touches: list[set[int]] = [set() for _ in range(2 * n + 1)]

        def touch(i: int, j: int) -> None:
            if i != j:
                touches[i].add(j)
                touches[j].add(i)

        for i in range(n):
            touch(i + 1, n + i + 1)  # a zone and its surroundings
            for j in range(i + 1, n):
                shared = set(zones[i].scanners) & set(zones[j].scanners)
                near = any(_gap(s, t) <= c.MODEL_ADJACENT_GAP_M for s in regions[i] for t in regions[j])
                if shared or near:
                    touch(i + 1, j + 1)
        known = [shape for region in regions for shape in region]
        ring_points: list[list[tuple[float, float]]] = [[] for _ in range(n)]
        far_points: list[tuple[float, float]] = []
        if known:
            x0, y0, x1, y1 = _bounds(known)
            margin = c.MODEL_OUTSIDE_MARGIN_M
            nx, ny, cells = _grid_shape(x0 - margin, y0 - margin, x1 + margin, y1 + margin)
            labels = [self._label(regions, x, y) for x, y in cells]
            for (x, y), label in zip(cells, labels, strict=True):
                if label == 0:
                    far_points.append((x, y))
                elif label > n:
                    ring_points[label - n - 1].append((x, y))
            for i in range(nx):
                for j in range(ny):
                    here = labels[i * ny + j]
                    for di, dj in ((1, 0), (0, 1), (1, 1), (1, -1)):
                        if 0 <= i + di < nx and 0 <= j + dj < ny:
                            touch(here, labels[(i + di) * ny + j + dj])
        else:
            for k in range(n):
                touch(0, n + k + 1)
        self.touches = tuple(tuple(sorted(t)) for t in touches)
        zone_points = [[p for shape in r for p in _grid(*_bounds([shape])) if _contains([shape], *p)] for r in regions]
        power, exponent = presence.measured_power_1m_dbm, presence.path_loss_exponent
        mean_radius = sum(zone.radius_m for zone in zones) / n if n else c.ZONE_RADIUS_M
        self.tables: dict[str, list[list[tuple[float, ...]]]] = {}
        """Per scanner, per evidence weight (1/steps .. 1), per RSSI: the tempered likelihood of each place."""
        for scanner in sorted(set(self.members) | (set(positions) if known else set())):
            where = positions.get(scanner)
            own = [zones[k - 1].radius_m for k in self.members.get(scanner, ())]
            r_out = min(own) if own else mean_radius
            far_out = rm.ring_histogram(r_out, c.MODEL_FAR_MAX_M)

            def at(points: Sequence[tuple[float, float]], where: tuple[float, float, float]) -> rm.Histogram:
                sx, sy, dz = where
                return rm.points_histogram([math.hypot(x - sx, y - sy, dz) for x, y in points])

            hists: list[rm.Histogram] = []
            if where is not None and far_points:
                hists.append(rm.mix([(1.0 - c.MODEL_FAR_SHARE, at(far_points, where)), (c.MODEL_FAR_SHARE, far_out)]))
            else:
                hists.append(far_out)
            rings: list[rm.Histogram] = []
            for k, zone in enumerate(zones, start=1):
                points = zone_points[k - 1]
                ring = ring_points[k - 1]
                if where is not None and points:
                    hists.append(at(points, where))
                    rings.append(at(ring, where) if ring else hists[0])
                elif scanner in zone.scanners:
                    share = 1.0 / len(zone.scanners)
                    disc = rm.disc_histogram(zone.radius_m)
                    far = rm.ring_histogram(zone.radius_m, c.MODEL_FAR_MAX_M)
                    hists.append(rm.mix([(share, disc), (1.0 - share, far)]))
                    beside = rm.ring_histogram(zone.radius_m, zone.radius_m + c.MODEL_RING_M)
                    rings.append(rm.mix([(share, beside), (1.0 - share, far)]))
                else:
                    hists.append(rm.ring_histogram(zone.radius_m, c.MODEL_FAR_MAX_M))
                    rings.append(hists[-1])
            columns = [rm.emission(h, power, exponent, c.MODEL_SIGMA_DB) for h in hists + rings]
            floor = c.MODEL_LIKELIHOOD_FLOOR
            steps = c.MODEL_EVIDENCE_STEPS
            tables: list[list[tuple[float, ...]]] = [[] for _ in range(steps)]
            for values in zip(*columns, strict=True):
                top = max(values)
                for b in range(steps):
                    weight = (b + 1) / steps
                    tables[b].append(tuple(max((v / top) ** weight, floor) for v in values))
            self.tables[scanner] = tables

    def _label(self, regions: Sequence[Sequence[Shape]], x: float, y: float) -> int:
        """The place of a floor point: its zone (1..n), the surroundings of the nearest zone (n+1..2n), or far (0)."""
        n = len(regions)
        best, best_d = 0, math.inf
        for k, region in enumerate(regions, start=1):
            if not region:
                continue
            d = _distance(region, x, y)
            if d <= 0.0:
                return k
            if d < best_d:
                best, best_d = k, d
        return n + best if best and best_d <= c.MODEL_RING_M else 0
