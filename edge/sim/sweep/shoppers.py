"""Shoppers of the sweep: one trip each, as timed straight-line legs, and its exact ground truth.

A trip: from outside through the entrance door, along the walkway to 2-4 zones (random ones, in
random order: walking between them crosses whatever lies on the way), at each 1-3 stops of a
total ``stop_s`` at spots placed per ``placement`` (``inner``: at the shelf, as in today's store;
``anywhere`` in the zone; ``edge``: just inside its boundary), then out through the exit door.
A stop may instead be spent browsing back and forth across the zone's boundary (``browse_p``):
alternately just inside and just outside it, a few seconds each side.

Ground truth (:func:`visits`): the exact times the legs enter and leave each zone's area, merged
where a shopper leaves and re-enters at the same instant (two discs of one zone).
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass, field, replace

from edge.sim.shoppers import Leg, Trip
from edge.sim.sweep.layouts import Layout, Point, Zone

BROWSE_SIDE_S = (3.0, 10.0)
"""Seconds a browsing shopper spends on each side of the boundary before stepping across again."""
BROWSE_IN_M = (0.5, 1.0)
"""How far inside the boundary the inner browsing spot is..."""
BROWSE_OUT_M = (0.5, 1.5)
"""...and how far outside the outer one."""


@dataclass(frozen=True, slots=True)
class Walk:
    """How shoppers move in a cell."""

    speed_m_s: tuple[float, float] = (0.8, 1.3)
    stop_s: tuple[float, float] = (20.0, 120.0)
    """Total time spent in one zone (split over its stops)."""
    stops: tuple[int, int] = (1, 3)
    placement: str = "inner"
    browse_p: float = 0.0
    zones: tuple[int, int] = (2, 4)

    def but(self, **changes: object) -> Walk:
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(slots=True)
class Visit:
    """One planned trip with the times it is inside the building."""

    trip: Trip
    speed_m_s: float
    entered: float = 0.0
    left: float = 0.0
    legs: list[Leg] = field(default_factory=list)


def _walkway_s(layout: Layout, point: Point) -> float:
    """Arc length along the walkway of the point of it nearest ``point``."""
    best, best_d, run = 0.0, math.inf, 0.0
    way = layout.walkway
    for (ax, ay), (bx, by) in itertools.pairwise(way):
        dx, dy = bx - ax, by - ay
        length = math.hypot(dx, dy)
        u = 0.0 if length == 0 else min(max(((point[0] - ax) * dx + (point[1] - ay) * dy) / length**2, 0.0), 1.0)
        d = math.hypot(ax + u * dx - point[0], ay + u * dy - point[1])
        if d < best_d:
            best, best_d = run + u * length, d
        run += length
    return best


def _along(layout: Layout, s0: float, s1: float) -> list[Point]:
    """The walkway's points from arc length s0 to s1 (either direction): the vertices between, then s1."""
    way = layout.walkway
    marks = [0.0]
    for (ax, ay), (bx, by) in itertools.pairwise(way):
        marks.append(marks[-1] + math.hypot(bx - ax, by - ay))

    def at(s: float) -> Point:
        for i in range(len(way) - 1):
            if s <= marks[i + 1] or i == len(way) - 2:
                span = marks[i + 1] - marks[i]
                u = 0.0 if span == 0 else (s - marks[i]) / span
                return (way[i][0] + u * (way[i + 1][0] - way[i][0]), way[i][1] + u * (way[i + 1][1] - way[i][1]))
        return way[-1]

    inner = [way[i] for i in range(1, len(way) - 1) if min(s0, s1) < marks[i] < max(s0, s1)]
    if s1 < s0:
        inner.reverse()
    return [*inner, at(s1)]


class _Planner:
    def __init__(self, layout: Layout, walk: Walk, rng: random.Random, speed: float) -> None:
        self.layout, self.walk, self.rng, self.speed = layout, walk, rng, speed
        self.legs: list[Leg] = []
        self.t = 0.0
        self.here: Point = layout.outside_in

    def go(self, to: Point) -> None:
        length = math.hypot(to[0] - self.here[0], to[1] - self.here[1])
        if length > 0:
            t1 = self.t + length / self.speed
            self.legs.append(Leg(self.t, t1, self.here, to))
            self.t = t1
            self.here = to

    def stay(self, seconds: float) -> None:
        self.legs.append(Leg(self.t, self.t + seconds, self.here, self.here))
        self.t += seconds

    def route(self, to: Point) -> None:
        """Walk to ``to`` by the walkway: onto it, along it, off it."""
        s0, s1 = _walkway_s(self.layout, self.here), _walkway_s(self.layout, to)
        for point in _along(self.layout, s0, s0):
            self.go(point)
        for point in _along(self.layout, s0, s1):
            self.go(point)
        self.go(to)

    def visit(self, zone: Zone) -> None:
        rng, walk = self.rng, self.walk
        self.route(zone.access)
        stops = rng.randint(*walk.stops)
        total = rng.uniform(*walk.stop_s)
        for _ in range(stops):
            seconds = total / stops
            if rng.random() < walk.browse_p:
                self._browse(zone, seconds)
            else:
                self.go(zone.spot(rng, walk.placement))
                self.stay(seconds)
        self.go(zone.access)

    def _browse(self, zone: Zone, seconds: float) -> None:
        rng = self.rng
        sign = rng.choice((-1.0, 1.0)) if zone.browse_axis[0] else 1.0
        direction = (zone.browse_axis[0] * sign, zone.browse_axis[1] * sign)
        edge = zone.boundary(zone.centre, direction)
        d_in, d_out = rng.uniform(*BROWSE_IN_M), rng.uniform(*BROWSE_OUT_M)
        inner = (edge[0] - direction[0] * d_in, edge[1] - direction[1] * d_in)
        outer = (edge[0] + direction[0] * d_out, edge[1] + direction[1] * d_out)
        end = self.t + seconds
        side = 0
        while self.t < end:
            self.go(inner if side == 0 else outer)
            self.stay(min(rng.uniform(*BROWSE_SIDE_S), max(0.0, end - self.t)))
            side ^= 1
        self.go(inner)


def plan_trip(layout: Layout, walk: Walk, rng: random.Random, arrival: float) -> Visit:
    """One shopper's trip starting outside the entrance at ``arrival``."""
    speed = rng.uniform(*walk.speed_m_s)
    planner = _Planner(layout, walk, rng, speed)
    planner.t = arrival
    planner.go(layout.walkway[0])
    entered = planner.t
    count = min(rng.randint(*walk.zones), len(layout.zones))
    for zone in rng.sample(layout.zones, count):
        planner.visit(zone)
    planner.route(layout.walkway[-1])
    left = planner.t
    planner.go(layout.outside_out)
    trip = Trip(start=arrival, legs=planner.legs)
    trip.starts = [leg.t0 for leg in trip.legs]
    return Visit(trip, speed, entered, left, planner.legs)


def visits(layout: Layout, trip: Trip) -> list[tuple[str, float, float]]:
    """Exact ground-truth zone visits of one trip: (zone, entered, left), in time order."""
    found: list[tuple[str, float, float]] = []
    for zone in layout.zones:
        spans: list[tuple[float, float]] = []
        for leg in trip.legs:
            for u0, u1 in zone.spans(leg.a, leg.b):
                span = leg.t1 - leg.t0
                spans.append((leg.t0 + u0 * span, leg.t0 + u1 * span))
        for t0, t1 in sorted(spans):
            if found and found[-1][0] == zone.id and t0 <= found[-1][2] + 1e-6:
                found[-1] = (zone.id, found[-1][1], max(found[-1][2], t1))
            else:
                found.append((zone.id, t0, t1))
    return sorted((v for v in found if v[2] > v[1]), key=lambda visit: visit[1])
