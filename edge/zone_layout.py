"""The store as the zone estimator sees it: its places, which places touch, and each scanner's emission table.

**Places** (the estimator's hidden states): ``0`` = *far* (in no zone and not near one: the street, the
back of the store), ``1..n`` = the configured zones in order, ``n+1..2n`` = the *surroundings* of each
zone (the floor within :data:`~edge.constants_model.MODEL_RING_M` of it, nearer to it than to any other zone,
in no zone). "No zone" is far plus every surrounding. Splitting "no zone" by where it is keeps what the
scanners hear *jointly*: a shopper a few metres from zone A's scanner and far from all others is
"beside A", not "in A" -- a single "outside" state, a mixture over the whole floor per scanner, could
not tell the two apart and held shoppers walking away in the zone for 10-15 s.

A zone's floor region is its ``area_m`` rectangle, else the discs of ``radius_m`` around its positioned
scanners (``[[scanners]]``), else unknown (then :mod:`edge.radio_model`'s near/far model from zone
membership applies: a zone's surroundings are the ring of :data:`~edge.constants_model.MODEL_RING_M` around
its scanners' discs). Two places **touch** -- a shopper walks from one straight into the other -- when
they are neighbours on the layout's grid, or zones whose regions come within
:data:`~edge.constants_model.MODEL_ADJACENT_GAP_M` of each other or share a scanner; a zone always touches
its own surroundings, and far touches every surrounding without a layout.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from edge import constants_model as cm
from edge import radio_model as rm
from edge.config import PresenceConfig, ScannerConfig, ZoneConfig
from edge.floor import FloorConfig
from edge.self_calibration import RADIO_NEAR_M

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
    step = max(cm.MODEL_GRID_STEP_M, math.sqrt((x1 - x0) * (y1 - y0) / cm.MODEL_GRID_MAX_POINTS))
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


SUB_SECTORS = 2
"""A zone's edge is split into this many sub-places, by side along its long axis (a tile's two ends,
the aisle side of a disc and its back): consecutive adverts of a shopper standing at one end are
consistent with that end, instead of being averaged over the whole zone."""

RING_INNER_SHARE = 0.4
"""A zone's surroundings are two places: the floor within this share of MODEL_RING_M of it (a step or two
outside, where a shopper who has just left stands or walks), and the rest: "just outside" must compete
with "at the zone's edge" on its own, not averaged with the aisle metres away."""

MISS_LOSS = cm.MODEL_LOSS_PRIOR
"""Share of adverts a scanner in range loses anyway (collisions, its own duty cycle): a scanner's silence is
evidence only beyond that."""

STREET_M = 5.0
"""On a floor plan with doors, the street within this of a door is part of "far" (the grid's oracle's margin
outside the doors): shoppers arrive and leave there, heard through the door, and far meets the floor only
there."""

SUB_CENTRE_SHARE = 0.5
"""Share of a zone's floor that is its centre sub-place (where shoppers stop at the shelf); the rest is its
edge, split into SUB_SECTORS."""


def _split(points: Sequence[tuple[float, float]], axis: tuple[float, float]) -> list[list[tuple[float, float]]]:
    """A zone's floor points as sub-places: its centre (the SUB_CENTRE_SHARE of points nearest the centroid,
    in the zone's own proportions), then the edge by side along ``axis``. Empty parts are dropped."""
    if len(points) < 2 * (SUB_SECTORS + 1):
        return [list(points)]
    cx = sum(x for x, _ in points) / len(points)
    cy = sum(y for _, y in points) / len(points)
    ax, ay = axis
    along = [(x - cx) * ax + (y - cy) * ay for x, y in points]
    across = [-(x - cx) * ay + (y - cy) * ax for x, y in points]
    half_a = max(abs(v) for v in along) or 1.0
    half_b = max(abs(v) for v in across) or 1.0
    depth = [max(abs(a) / half_a, abs(b) / half_b) for a, b in zip(along, across, strict=True)]
    cut = sorted(depth)[int(SUB_CENTRE_SHARE * (len(depth) - 1))]
    parts: list[list[tuple[float, float]]] = [[] for _ in range(SUB_SECTORS + 1)]
    for point, d, a, b in zip(points, depth, along, across, strict=True):
        if d <= cut:
            parts[0].append(point)
        else:
            angle = math.atan2(b, a) + math.pi / SUB_SECTORS  # sector 0 centred on +axis
            parts[1 + int(angle % (2 * math.pi) / (2 * math.pi) * SUB_SECTORS) % SUB_SECTORS].append(point)
    return [part for part in parts if part]


class Layout:
    """See the module docstring. Places: ``0`` far, then each zone's sub-places (``subs[k - 1]``), then each
    zone's surroundings (``rings[k - 1]``); ``zone_of[i]`` = the zone (1..n) place ``i`` is in, 0 for none.
    ``tables[scanner][b][rssi - RSSI_MIN_DBM]`` = likelihood per place (max 1) raised to the evidence weight
    (b + 1) / MODEL_EVIDENCE_STEPS; ``expected[scanner][i]`` = the mean RSSI heard from place ``i``;
    ``touches[i]`` = the places a shopper in place ``i`` can walk straight into."""

    def __init__(
        self,
        zones: Sequence[ZoneConfig],
        presence: PresenceConfig,
        scanners: Sequence[ScannerConfig] = (),
        floor: FloorConfig | None = None,
    ) -> None:
        self.zone_ids = tuple(zone.id for zone in zones)
        n = self.n = len(zones)
        positions = {s.id: (s.x_m, s.y_m, s.height_m - cm.MODEL_DEVICE_HEIGHT_M) for s in scanners}
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
        zone_points = [[p for shape in r for p in _grid(*_bounds([shape])) if _contains([shape], *p)] for r in regions]
        # --- the places: far, each zone's sub-places, each zone's surroundings
        sub_points: list[list[list[tuple[float, float]]]] = []
        for k in range(n):
            if zone_points[k]:
                sub_points.append(_split(zone_points[k], self._axis(regions, k)))
            else:  # no layout: at one of the zone's scanners, near it or at the disc's edge
                sub_points.append([[] for _ in range(2 * len(zones[k].scanners))])
        subs: list[tuple[int, ...]] = []
        index = 1
        for parts in sub_points:
            subs.append(tuple(range(index, index + len(parts))))
            index += len(parts)
        self.subs = tuple(subs)
        self.rings = tuple(range(index, index + n))
        self.outer = tuple(range(index + n, index + 2 * n))
        self.places = index + 2 * n
        self.zone_of = tuple([0] + [k for k, group in enumerate(subs, start=1) for _ in group] + [0] * 2 * n)
        touches: list[set[int]] = [set() for _ in range(self.places)]

        def touch(i: int, j: int) -> None:
            if i != j:
                touches[i].add(j)
                touches[j].add(i)

        adjacent: list[list[tuple[int, int]]] = []
        for k in range(n):
            for a in subs[k]:
                for b in subs[k]:
                    touch(a, b)
            for j in range(k + 1, n):
                shared = set(zones[k].scanners) & set(zones[j].scanners)
                near = any(_gap(s, t) <= cm.MODEL_ADJACENT_GAP_M for s in regions[k] for t in regions[j])
                if shared or near:  # on a plan, the grid below says which sub-places meet; else all of them
                    pairs = [(a, b) for a in subs[k] for b in subs[j]]
                    adjacent.append(pairs)
        known = [shape for region in regions for shape in region]
        ring_points: list[list[tuple[float, float]]] = [[] for _ in range(2 * n)]
        far_points: list[tuple[float, float]] = []
        plan = floor if floor is not None and floor.known and known else None
        self.floor_known = plan is not None
        if known:
            x0, y0, x1, y1 = _bounds(known)
            if plan is None:  # no floor plan: the zones' bounding box and a margin of aisle around it
                margin = cm.MODEL_OUTSIDE_MARGIN_M
                x0, y0, x1, y1 = x0 - margin, y0 - margin, x1 + margin, y1 + margin
            else:  # the floor, the zones and the street outside each door
                fx0, fy0, fx1, fy1 = plan.bounds()
                reach = STREET_M if plan.door else 0.0
                x0, y0 = min(x0, fx0 - reach), min(y0, fy0 - reach)
                x1, y1 = max(x1, fx1 + reach), max(y1, fy1 + reach)
            nx, ny, cells = _grid_shape(x0, y0, x1, y1)
            labels = [self._label(regions, sub_points, x, y, plan) for x, y in cells]
            for (x, y), label in zip(cells, labels, strict=True):
                if label == 0:
                    far_points.append((x, y))
                elif label >= self.rings[0]:  # inner then outer rings, in zone order
                    ring_points[label - self.rings[0]].append((x, y))
            for i in range(nx):
                for j in range(ny):
                    here = labels[i * ny + j]
                    if here < 0:
                        continue
                    for di, dj in ((1, 0), (0, 1), (1, 1), (1, -1)):
                        if 0 <= i + di < nx and 0 <= j + dj < ny and labels[(i + di) * ny + j + dj] >= 0:
                            touch(here, labels[(i + di) * ny + j + dj])
        for pairs in adjacent:  # adjacent zones that the grid found no meeting sub-places of (or no plan)
            if not any(b in touches[a] for a, b in pairs):
                for a, b in pairs:
                    touch(a, b)
        for k in range(n):
            edge = [a for a in subs[k] if any(b == 0 or b >= self.rings[0] for b in touches[a])]
            if not edge and not (plan is not None and zone_points[k]):
                # no layout (or a zone too small for the grid): its edge sub-places meet the ring. On a floor
                # plan a zone with no floor around it (a tile in the middle of an aisle) has no surroundings.
                edge = list(subs[k][1::2]) if not zone_points[k] else list(subs[k])
            for a in edge:
                touch(a, self.rings[k])
            touch(self.rings[k], self.outer[k])
            if not zone_points[k]:  # a zone off the plan: its surroundings are reachable from anywhere
                touch(0, self.outer[k])
        if not touches[0]:  # a floor with no doors and every metre of it near a zone: far is reached from anywhere
            for k in range(n):
                touch(0, self.outer[k] if ring_points[n + k] or not ring_points[k] else self.rings[k])
        self.empty = frozenset(
            place
            for k in range(n)
            if plan is not None and zone_points[k]
            for place, points in ((self.rings[k], ring_points[k]), (self.outer[k], ring_points[n + k]))
            if not points
        )
        """Places with no floor on the plan (a middle tile's surroundings): reached only by silence's drift."""
        self.touches = tuple(tuple(sorted(t)) for t in touches)
        self._table_args = (zones, positions, regions, sub_points, ring_points, far_points, bool(known))
        self._tables(presence, *self._table_args)

    def retune(self, presence: PresenceConfig) -> None:
        """Rebuild the emission tables (``tables``, ``expected``, ``misses``, ``log_distance``) for ``presence``'s
        radio (a learned path-loss exponent); the places and what touches what stay as they are."""
        self._tables(presence, *self._table_args)

    def _tables(
        self,
        presence: PresenceConfig,
        zones: Sequence[ZoneConfig],
        positions: dict[str, tuple[float, float, float]],
        regions: Sequence[Sequence[Shape]],
        sub_points: Sequence[Sequence[Sequence[tuple[float, float]]]],
        ring_points: Sequence[Sequence[tuple[float, float]]],
        far_points: Sequence[tuple[float, float]],
        known: bool,
    ) -> None:
        power, exponent = presence.measured_power_1m_dbm, presence.path_loss_exponent
        n = self.n
        mean_radius = sum(zone.radius_m for zone in zones) / n if n else cm.ZONE_RADIUS_M
        self.expected: dict[str, tuple[float, ...]] = {}
        """Per scanner, per place: the mean RSSI it hears from a shopper there (self-calibration's reference)."""
        self.tables: dict[str, list[list[tuple[float, ...]]]] = {}
        self.log_distance: dict[str, dict[int, tuple[tuple[int, tuple[tuple[float, float], ...]], ...]]] = {}
        """Per positioned scanner, per zone (1..n), its sub-places within RADIO_NEAR_M of the scanner (on average) as
        (place, per RSSI index: E[log10 d] and E[(log10 d)^2] over the place's 3-D distances given that reading):
        the radio learner's E-step (:class:`edge.self_calibration.RadioLearner`). Zones with none are absent."""
        self.misses: dict[str, tuple[tuple[float, ...], ...]] = {}
        """Per positioned scanner on a floor plan, per evidence weight: the likelihood of each place that the scanner
        did NOT hear an advert (lost, beyond MODEL_FAR_MAX_M or below SENSITIVITY_DBM), tempered like ``tables``."""
        """Per scanner, per evidence weight (1/steps .. 1), per RSSI: the tempered likelihood of each place."""
        for scanner in sorted(set(self.members) | (set(positions) if known else set())):
            where = positions.get(scanner)
            own = [zones[k - 1].radius_m for k in self.members.get(scanner, ())]
            r_out = min(own) if own else mean_radius
            far_out = rm.ring_histogram(r_out, cm.MODEL_FAR_MAX_M)

            def at(points: Sequence[tuple[float, float]], where: tuple[float, float, float]) -> rm.Histogram:
                sx, sy, dz = where
                return rm.points_histogram([math.hypot(x - sx, y - sy, dz) for x, y in points])

            hists: list[rm.Histogram] = []
            if where is not None and far_points:
                hists.append(rm.mix([(1.0 - cm.MODEL_FAR_SHARE, at(far_points, where)), (cm.MODEL_FAR_SHARE, far_out)]))
            else:
                hists.append(far_out)
            rings: list[rm.Histogram] = []
            outer: list[rm.Histogram] = []
            inner_m = cm.MODEL_RING_M * RING_INNER_SHARE
            for k, zone in enumerate(zones, start=1):
                parts = sub_points[k - 1]
                ring, beyond = ring_points[k - 1], ring_points[n + k - 1]
                if where is not None and any(parts):
                    hists += [at(part, where) for part in parts]
                    rings.append(at(ring, where) if ring else hists[0])
                    outer.append(at(beyond, where) if beyond else hists[0])
                    continue
                r = zone.radius_m
                far = rm.ring_histogram(r, cm.MODEL_FAR_MAX_M)
                if any(parts):  # a zone on the plan, heard by a scanner off it: near it with its share, or far
                    share = 1.0 / len(zone.scanners) if scanner in zone.scanners else 0.0
                    near = rm.mix([(share, rm.disc_histogram(r)), (1.0 - share, far)])
                    hists += [near] * len(parts)
                    rings.append(rm.mix([(share, rm.ring_histogram(r, r + inner_m)), (1.0 - share, far)]))
                    outer.append(
                        rm.mix([(share, rm.ring_histogram(r + inner_m, r + cm.MODEL_RING_M)), (1.0 - share, far)])
                    )
                    continue
                if scanner in zone.scanners:
                    share = 1.0 / len(zone.scanners)
                    beside = rm.ring_histogram(r, r + inner_m)
                    rings.append(rm.mix([(share, beside), (1.0 - share, far)]))
                    beyond_h = rm.ring_histogram(r + inner_m, r + cm.MODEL_RING_M)
                    outer.append(rm.mix([(share, beyond_h), (1.0 - share, far)]))
                else:
                    rings.append(far)
                    outer.append(far)
                inner = r * math.sqrt(SUB_CENTRE_SHARE)
                for s in zone.scanners:  # sub-places 2i (near scanner i) and 2i + 1 (at the disc's edge there)
                    if s == scanner:
                        hists += [rm.disc_histogram(inner), rm.ring_histogram(inner, r)]
                    else:
                        hists += [far, far]
            columns = [rm.emission(h, power, exponent, cm.MODEL_SIGMA_DB) for h in hists + rings + outer]
            if where is not None and self.floor_known:
                heard = [rm.heard_share(h, power, exponent, cm.MODEL_SIGMA_DB) for h in hists + rings + outer]
                missed = [1.0 - (1.0 - MISS_LOSS) * share for share in heard]
                self.misses[scanner] = tuple(
                    tuple(
                        max((v / max(missed)) ** ((b + 1) / cm.MODEL_EVIDENCE_STEPS), cm.MODEL_LIKELIHOOD_FLOOR)
                        for v in missed
                    )
                    for b in range(cm.MODEL_EVIDENCE_STEPS)
                )
            self.expected[scanner] = tuple(rm.mean_rssi(h, power, exponent) for h in hists + rings + outer)
            if where is not None:  # the radio learner's E-step, for the zones' sub-places within its band
                low, high = (math.log10(d) for d in RADIO_NEAR_M)
                per_zone: dict[int, tuple[tuple[int, tuple[tuple[float, float], ...]], ...]] = {}
                for k, group in enumerate(self.subs, start=1):
                    found = tuple(
                        (i, rm.log_moments(hists[i], power, exponent, cm.MODEL_SIGMA_DB))
                        for i in group
                        if low <= rm.mean_log_distance(hists[i]) <= high
                    )
                    if found:
                        per_zone[k] = found
                if per_zone:
                    self.log_distance[scanner] = per_zone
            floor = cm.MODEL_LIKELIHOOD_FLOOR
            steps = cm.MODEL_EVIDENCE_STEPS
            tables: list[list[tuple[float, ...]]] = [[] for _ in range(steps)]
            for values in zip(*columns, strict=True):
                top = max(values)
                for b in range(steps):
                    weight = (b + 1) / steps
                    tables[b].append(tuple(max((v / top) ** weight, floor) for v in values))
            self.tables[scanner] = tables

    @staticmethod
    def _axis(regions: Sequence[Sequence[Shape]], k: int) -> tuple[float, float]:
        """The zone's long axis (a rectangle's longer side), else the direction to the nearest other zone."""
        x0, y0, x1, y1 = _bounds(regions[k])
        if regions[k][0][0] == "rect" and abs((x1 - x0) - (y1 - y0)) > 1e-6:
            return (1.0, 0.0) if x1 - x0 > y1 - y0 else (0.0, 1.0)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        best, found = math.inf, (1.0, 0.0)
        for j, other in enumerate(regions):
            if j != k and other:
                a0, b0, a1, b1 = _bounds(other)
                dx, dy = (a0 + a1) / 2 - cx, (b0 + b1) / 2 - cy
                d = math.hypot(dx, dy)
                if 0 < d < best:
                    best, found = d, (dx / d, dy / d)
        return found

    def _label(
        self,
        regions: Sequence[Sequence[Shape]],
        sub_points: Sequence[Sequence[Sequence[tuple[float, float]]]],
        x: float,
        y: float,
        plan: FloorConfig | None = None,
    ) -> int:
        """The place of a point: its zone's nearest sub-place, the surroundings of the nearest zone, or far;
        on a floor plan, the street outside a door is far and a point neither on the floor nor in a zone is
        no place (-1)."""
        best, best_d = -1, math.inf
        for k, region in enumerate(regions):
            if not region:
                continue
            d = _distance(region, x, y)
            if d <= 0.0:
                return self._nearest_sub(k, sub_points[k], x, y)
            if d < best_d:
                best, best_d = k, d
        if plan is not None and not plan.walkable(x, y):
            return 0 if plan.street(x, y, STREET_M) else -1
        if best < 0 or best_d > cm.MODEL_RING_M:
            return 0
        return self.rings[best] if best_d <= cm.MODEL_RING_M * RING_INNER_SHARE else self.outer[best]

    def _nearest_sub(self, k: int, parts: Sequence[Sequence[tuple[float, float]]], x: float, y: float) -> int:
        best, best_d = self.subs[k][0], math.inf
        for place, part in zip(self.subs[k], parts, strict=True):
            for px, py in part:
                d = (px - x) ** 2 + (py - y) ** 2
                if d < best_d:
                    best, best_d = place, d
        return best
