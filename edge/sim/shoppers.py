"""Where simulated shoppers are: trips through the store as timed straight-line legs.

A person comes and goes forever: a trip (outside → door → entrance → 2-4 departments → checkout →
door → outside), then an absence, then the next trip. Each person has their own random stream,
seeded from the simulation seed and their index, so a person's whereabouts never depend on
anybody else or on how far the advertisements have been generated. Trips are planned lazily.
"""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass, field

from edge.sim.plan import STAND_RADIUS_M, ZONE_RADIUS_M, FloorPlan, Point, ZonePlan

WALK_SPEED_M_S = (0.8, 1.3)
"""Walking speed of a shopper pushing a trolley, drawn once per person."""

STOPS_PER_ZONE = (1, 3)
"""Spots a shopper stands at within one department (browsing from bay to bay)."""

ABSENCE_MEAN_S = 300.0
"""Mean time between two trips of one person (exponential): about half of the rostered people
are in the store at any time."""

FIRST_ARRIVAL_MAX_S = 600.0
"""People arrive for their first trip uniformly within this many seconds of the start."""

PICKUP_PROBABILITY = 0.5
"""Chance that a stop at a department with a shelf ends with something picked up there."""

PUTBACK_PROBABILITY = 0.3
"""Chance that a picked-up article is put back a few seconds later."""


def seeded(*parts: object) -> random.Random:
    """A reproducible random stream named by ``parts`` (a simulation, not cryptography)."""
    return random.Random(":".join(["edge-sim", *map(str, parts)]))  # noqa: S311


@dataclass(frozen=True, slots=True)
class Leg:
    """Straight-line motion from ``a`` at ``t0`` to ``b`` at ``t1`` (a == b: standing)."""

    t0: float
    t1: float
    a: Point
    b: Point

    def at(self, t: float) -> Point:
        span = self.t1 - self.t0
        u = 0.0 if span <= 0 else min(max((t - self.t0) / span, 0.0), 1.0)
        return (self.a[0] + (self.b[0] - self.a[0]) * u, self.a[1] + (self.b[1] - self.a[1]) * u)


@dataclass(frozen=True, slots=True)
class ShelfAct:
    at: float
    shelf: str
    action: str
    sku: str


@dataclass(slots=True)
class Trip:
    start: float
    legs: list[Leg] = field(default_factory=list)
    shelf_acts: list[ShelfAct] = field(default_factory=list)
    starts: list[float] = field(default_factory=list)

    @property
    def end(self) -> float:
        return self.legs[-1].t1

    def position(self, t: float) -> Point:
        index = max(0, bisect.bisect_right(self.starts, t) - 1)
        return self.legs[index].at(t)


class Person:
    """One shopper (opted in or not) and their trips; see the module docstring."""

    def __init__(self, plan: FloorPlan, seed: int, index: int, kind: str, *, first_arrival: float) -> None:
        self.plan = plan
        self.rng = seeded(seed, kind, index, "plan")
        self.speed = self.rng.uniform(*WALK_SPEED_M_S)
        self.trips: list[Trip] = []
        self._trip_starts: list[float] = []
        self._next_start = first_arrival

    def begin_with(self, trip: Trip) -> None:
        """A prepared first trip (the scripted opening, :mod:`edge.sim.opening`); later ones are planned."""
        self.trips.append(trip)
        self._trip_starts.append(trip.start)
        self._next_start = trip.end + self.rng.expovariate(1.0 / ABSENCE_MEAN_S)

    def trip_from(self, t: float) -> Trip:
        """The first trip that ends after ``t`` (planning more as needed)."""
        while not self.trips or self.trips[-1].end <= t:
            self._plan_next()
        index = bisect.bisect_right(self._trip_starts, t) - 1
        if index >= 0 and self.trips[index].end > t:
            return self.trips[index]
        return self.trips[index + 1]

    def position(self, t: float) -> Point | None:
        """Where the person is at ``t``, or None when out of the store's surroundings."""
        trip = self.trip_from(t)
        return trip.position(t) if trip.start <= t else None

    def _plan_next(self) -> None:
        rng = self.rng
        trip = Trip(start=self._next_start)
        plan = self.plan
        zones = [plan.zone(plan.entrance)]
        zones += [plan.zone(z) for z in rng.sample(plan.aisles, rng.randint(2, min(4, len(plan.aisles))))]
        zones.append(plan.zone(plan.checkout))
        t, here = self._walk(trip, trip.start, plan.outside_in, plan.door_in)
        previous: ZonePlan | None = None
        for zone in zones:
            if previous is not None:
                t, here = self._walk(trip, t, here, previous.aisle)
                t, here = self._walk(trip, t, here, zone.aisle)
            t, here = self._visit(trip, t, here, zone)
            previous = zone
        t, here = self._walk(trip, t, here, plan.door_out)
        self._walk(trip, t, here, plan.outside_out)
        trip.starts = [leg.t0 for leg in trip.legs]
        self.trips.append(trip)
        self._trip_starts.append(trip.start)
        self._next_start = trip.end + rng.expovariate(1.0 / ABSENCE_MEAN_S)

    def _walk(self, trip: Trip, t: float, a: Point, b: Point) -> tuple[float, Point]:
        length = math.hypot(b[0] - a[0], b[1] - a[1])
        if length > 0:
            t1 = t + length / self.speed
            trip.legs.append(Leg(t, t1, a, b))
            t = t1
        return t, b

    def _visit(self, trip: Trip, t: float, here: Point, zone: ZonePlan) -> tuple[float, Point]:
        rng = self.rng
        stops = rng.randint(*STOPS_PER_ZONE) if zone.id != self.plan.entrance else 1
        dwell = rng.uniform(*zone.dwell_s)
        for _ in range(stops):
            _, (cx, cy) = rng.choice(zone.scanners)
            radius = STAND_RADIUS_M * math.sqrt(rng.random())
            angle = rng.uniform(0.0, 2.0 * math.pi)
            spot = (cx + radius * math.cos(angle), cy + radius * math.sin(angle))
            t, here = self._walk(trip, t, here, spot)
            stay = dwell / stops
            trip.legs.append(Leg(t, t + stay, spot, spot))
            for shelf in zone.shelves:
                if rng.random() < PICKUP_PROBABILITY:
                    sku = rng.choice(shelf.skus)
                    picked = t + rng.uniform(0.2, 0.8) * stay
                    trip.shelf_acts.append(ShelfAct(picked, shelf.id, "pickup", sku))
                    if rng.random() < PUTBACK_PROBABILITY:
                        trip.shelf_acts.append(
                            ShelfAct(picked + rng.uniform(0.05, 0.15) * stay, shelf.id, "putback", sku)
                        )
            t += stay
        trip.shelf_acts.sort(key=lambda act: act.at)
        return t, here


def _disc_interval(leg: Leg, centre: Point) -> tuple[float, float] | None:
    """The times during ``leg`` when it is within ZONE_RADIUS_M of ``centre``."""
    (ax, ay), (bx, by) = leg.a, leg.b
    dx, dy = bx - ax, by - ay
    fx, fy = ax - centre[0], ay - centre[1]
    qa = dx * dx + dy * dy
    qc = fx * fx + fy * fy - ZONE_RADIUS_M * ZONE_RADIUS_M
    if qa == 0:
        return (leg.t0, leg.t1) if qc <= 0 else None
    qb = 2 * (fx * dx + fy * dy)
    disc = qb * qb - 4 * qa * qc
    if disc < 0:
        return None
    root = math.sqrt(disc)
    u0, u1 = max((-qb - root) / (2 * qa), 0.0), min((-qb + root) / (2 * qa), 1.0)
    if u0 >= u1:
        return None
    span = leg.t1 - leg.t0
    return leg.t0 + u0 * span, leg.t0 + u1 * span


def visits(plan: FloorPlan, trip: Trip) -> list[tuple[str, float, float]]:
    """Ground-truth zone visits of one trip: (zone, entered, left), exact, in time order."""
    found: list[tuple[str, float, float]] = []
    for zone in plan.zones:
        spans = sorted(span for leg in trip.legs for _, c in zone.scanners if (span := _disc_interval(leg, c)))
        for t0, t1 in spans:
            if found and found[-1][0] == zone.id and t0 <= found[-1][2] + 1e-6:
                found[-1] = (zone.id, found[-1][1], max(found[-1][2], t1))
            else:
                found.append((zone.id, t0, t1))
    return sorted(found, key=lambda visit: visit[1])
