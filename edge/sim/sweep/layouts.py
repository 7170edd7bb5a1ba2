"""Floor plans of the presence sweep: zones (areas), scanners (positions, heights) and the walkway.

A :class:`Layout` is what a retailer knows of their floor: it becomes the gateway :class:`Config`
(``[[scanners]]`` positions and ``zones[].area_m`` / ``radius_m``) every engine is given. A zone is
a rectangle (``rect``) or the union of discs of ``radius_m`` around its scanners. **Ground truth**:
a shopper is in a zone while inside its area (:meth:`Zone.contains`, exact crossing times from
:meth:`Zone.spans`); zones never overlap, so there is at most one.

Shoppers reach a zone along the walkway (a polyline from the entrance door to the exit door):
they walk along it to the zone's ``access`` point, then to their spot inside the zone.

The builders: :func:`spots` (today's store, :data:`edge.sim.plan.DEFAULT_PLAN`: zones 3 m around
shelf scanners, 8 m from the main aisle), :func:`aisle_tiles` (rectangular zones tiling one aisle,
scanners ``spacing_m`` apart above it, walking between zones crosses the ones in between),
:func:`l_shape` (two arms, a corner zone everybody crosses).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from edge.config import Config, GatewayConfig, ScannerConfig, ZoneConfig
from edge.floor import FloorArea, FloorConfig, FloorDoor
from edge.sim.plan import DEFAULT_PLAN, ZONE_RADIUS_M

Point = tuple[float, float]
Rect = tuple[float, float, float, float]

SCANNER_HEIGHT_M = 2.0
"""Default scanner height: on a shelf top, 1 m above a phone held at :data:`PHONE_HEIGHT_M`."""
PHONE_HEIGHT_M = 1.0
"""Height of a phone in a hand, a trolley or a pocket."""
INNER_RADIUS_M = 1.5
"""Where shoppers stop in the base cells: within this of a disc zone's scanner (today's plan), or in
the central half of a rectangular zone: at the shelf, never at the zone's edge."""
EDGE_BAND_M = 0.5
"""Stops "at the edge" are within this distance inside the zone's boundary."""


@dataclass(frozen=True, slots=True)
class Scanner:
    id: str
    x: float
    y: float
    height_m: float = SCANNER_HEIGHT_M


@dataclass(frozen=True, slots=True)
class Zone:
    """One zone: a rectangle ``rect`` or, without one, the discs of ``radius_m`` around ``discs``."""

    id: str
    scanners: tuple[str, ...]
    access: Point
    rect: Rect | None = None
    discs: tuple[Point, ...] = ()
    radius_m: float = ZONE_RADIUS_M
    browse_axis: Point = (0.0, 1.0)
    """Direction in which a shopper browsing back and forth crosses the zone's boundary."""

    def contains(self, x: float, y: float) -> bool:
        if self.rect is not None:
            x0, y0, x1, y1 = self.rect
            return x0 <= x <= x1 and y0 <= y <= y1
        r2 = self.radius_m * self.radius_m
        return any((x - cx) ** 2 + (y - cy) ** 2 <= r2 for cx, cy in self.discs)

    def spans(self, a: Point, b: Point) -> list[tuple[float, float]]:
        """The parts (u0, u1) of the segment a + u (b - a), 0 <= u <= 1, inside the zone, merged."""
        found = [_rect_span(a, b, self.rect)] if self.rect is not None else []
        found += [_disc_span(a, b, c, self.radius_m) for c in self.discs]
        spans = sorted(s for s in found if s is not None)
        merged: list[tuple[float, float]] = []
        for u0, u1 in spans:
            if merged and u0 <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], u1))
            else:
                merged.append((u0, u1))
        return merged

    @property
    def centre(self) -> Point:
        if self.rect is not None:
            x0, y0, x1, y1 = self.rect
            return ((x0 + x1) / 2, (y0 + y1) / 2)
        return self.discs[0]

    def spot(self, rng: random.Random, placement: str) -> Point:
        """A point to stop at: ``inner`` (at the shelf), ``anywhere`` (uniform) or ``edge`` (near the boundary)."""
        if self.rect is not None:
            x0, y0, x1, y1 = self.rect
            if placement == "inner":
                qx, qy = (x1 - x0) / 4, (y1 - y0) / 4
                return (rng.uniform(x0 + qx, x1 - qx), rng.uniform(y0 + qy, y1 - qy))
            if placement == "anywhere":
                return (rng.uniform(x0, x1), rng.uniform(y0, y1))
            band = rng.uniform(0.0, EDGE_BAND_M)
            side = rng.randrange(4)
            if side < 2:
                return (rng.uniform(x0, x1), y0 + band if side == 0 else y1 - band)
            return (x0 + band if side == 2 else x1 - band, rng.uniform(y0, y1))
        cx, cy = rng.choice(self.discs)
        if placement == "inner":
            radius = INNER_RADIUS_M * math.sqrt(rng.random())
        elif placement == "anywhere":
            radius = self.radius_m * math.sqrt(rng.random())
        else:
            radius = self.radius_m - rng.uniform(0.0, EDGE_BAND_M)
        while True:  # an edge spot must not fall inside another disc of the same zone (two scanners)
            angle = rng.uniform(0.0, 2.0 * math.pi)
            point = (cx + radius * math.cos(angle), cy + radius * math.sin(angle))
            if placement != "edge" or len(self.discs) == 1 or self._on_rim(point):
                return point

    def _on_rim(self, point: Point) -> bool:
        r = self.radius_m - EDGE_BAND_M
        return all(math.hypot(point[0] - cx, point[1] - cy) >= r for cx, cy in self.discs)

    def boundary(self, start: Point, direction: Point) -> Point:
        """Where the ray from ``start`` (inside) along ``direction`` leaves the zone."""
        far = (start[0] + direction[0] * 50.0, start[1] + direction[1] * 50.0)
        spans = self.spans(start, far)
        u = spans[0][1] if spans else 0.0
        return (start[0] + (far[0] - start[0]) * u, start[1] + (far[1] - start[1]) * u)


def _rect_span(a: Point, b: Point, rect: Rect) -> tuple[float, float] | None:
    """Liang-Barsky clipping of a segment to a rectangle, as the parameter interval inside."""
    u0, u1 = 0.0, 1.0
    dx, dy = b[0] - a[0], b[1] - a[1]
    for p, q in ((-dx, a[0] - rect[0]), (dx, rect[2] - a[0]), (-dy, a[1] - rect[1]), (dy, rect[3] - a[1])):
        if p == 0:
            if q < 0:
                return None
        elif p < 0:
            u0 = max(u0, q / p)
        else:
            u1 = min(u1, q / p)
    return (u0, u1) if u0 < u1 or (u0 == u1 and dx == dy == 0) else None


def _disc_span(a: Point, b: Point, centre: Point, radius: float) -> tuple[float, float] | None:
    dx, dy = b[0] - a[0], b[1] - a[1]
    fx, fy = a[0] - centre[0], a[1] - centre[1]
    qa = dx * dx + dy * dy
    qc = fx * fx + fy * fy - radius * radius
    if qa == 0:
        return (0.0, 1.0) if qc <= 0 else None
    qb = 2 * (fx * dx + fy * dy)
    disc = qb * qb - 4 * qa * qc
    if disc < 0:
        return None
    root = math.sqrt(disc)
    u0, u1 = max((-qb - root) / (2 * qa), 0.0), min((-qb + root) / (2 * qa), 1.0)
    return (u0, u1) if u0 < u1 else None


@dataclass(frozen=True, slots=True)
class Layout:
    """A store: rooms (rectangles whose union is the building), zones, scanners, walkway, doors."""

    name: str
    rooms: tuple[Rect, ...]
    zones: tuple[Zone, ...]
    scanners: tuple[Scanner, ...]
    walkway: tuple[Point, ...]
    """From the entrance door (first point) to the exit door (last point)."""
    outside_in: Point
    outside_out: Point
    floor: tuple[Rect, ...] = ()
    """Where shoppers can be inside (the rooms, less shelving); default: all of the rooms."""

    def walkable(self, x: float, y: float) -> bool:
        for x0, y0, x1, y1 in self.floor or self.rooms:  # noqa: SIM110  (a loop: any() over a generator is 2x slower)
            if x0 <= x <= x1 and y0 <= y <= y1:
                return True
        return False

    def inside(self, x: float, y: float) -> bool:
        for x0, y0, x1, y1 in self.rooms:  # noqa: SIM110  (as walkable: asked at every advert of a walking shopper)
            if x0 <= x <= x1 and y0 <= y <= y1:
                return True
        return False

    def zone_at(self, x: float, y: float) -> str | None:
        """Ground truth: the zone whose area (x, y) is in, or None."""
        for zone in self.zones:
            if zone.contains(x, y):
                return zone.id
        return None

    def zone(self, zone_id: str) -> Zone:
        return next(zone for zone in self.zones if zone.id == zone_id)

    @property
    def bounds(self) -> Rect:
        return (
            min(r[0] for r in self.rooms),
            min(r[1] for r in self.rooms),
            max(r[2] for r in self.rooms),
            max(r[3] for r in self.rooms),
        )

    def with_heights(self, height_m: float) -> Layout:
        """The same store with every scanner at ``height_m``."""
        scanners = tuple(Scanner(s.id, s.x, s.y, height_m) for s in self.scanners)
        return Layout(
            self.name, self.rooms, self.zones, scanners, self.walkway, self.outside_in, self.outside_out, self.floor
        )

    def config(self, *, floor: bool = True) -> Config:
        """What the gateway is told: the layout (scanner positions, zone areas and, unless ``floor`` is
        false, the floor plan: the walkable rectangles and the two doors), no radio parameters."""
        zones = tuple(ZoneConfig(id=z.id, scanners=z.scanners, area_m=z.rect, radius_m=z.radius_m) for z in self.zones)
        scanners = tuple(ScannerConfig(id=s.id, x_m=s.x, y_m=s.y, height_m=s.height_m) for s in self.scanners)
        gateway = GatewayConfig(store="sweep", gateway="gw-1")
        return Config(
            gateway=gateway, zones=zones, scanners=scanners, floor=self.floor_config() if floor else FloorConfig()
        )

    def floor_config(self) -> FloorConfig:
        """The ``[floor]`` of this store: where shoppers can walk (the rooms less shelving) and the doors
        (the walkway's ends, where the simulated shoppers come in and go out)."""
        areas = tuple(FloorArea(rect_m=rect) for rect in self.floor or self.rooms)
        doors = tuple(FloorDoor(at_m=point) for point in dict.fromkeys((self.walkway[0], self.walkway[-1])))
        return FloorConfig(area=areas, door=doors)


def spots() -> Layout:
    """Today's simulated store (:mod:`edge.sim.plan`): six disc zones, one of them with two scanners."""
    zones: list[Zone] = []
    scanners: list[Scanner] = []
    for plan_zone in DEFAULT_PLAN.zones:
        centres = tuple(point for _, point in plan_zone.scanners)
        cx, cy = centres[0]
        ax, ay = plan_zone.aisle
        norm = math.hypot(ax - cx, ay - cy) or 1.0
        ids = tuple(scanner for scanner, _ in plan_zone.scanners)
        zones.append(
            Zone(plan_zone.id, ids, plan_zone.aisle, discs=centres, browse_axis=((ax - cx) / norm, (ay - cy) / norm))
        )
        scanners += [Scanner(scanner, x, y) for scanner, (x, y) in plan_zone.scanners]
    return Layout(
        "spots",
        ((0.0, 0.0, 40.0, 24.0),),
        tuple(zones),
        tuple(scanners),
        ((0.0, 12.0), (40.0, 12.0)),
        (-4.0, 12.0),
        (44.0, 12.0),
    )


AISLE_LENGTH_M = 24.0
"""Length of the tiled aisle (rounded up to whole tiles)."""
AISLE_WIDTH_M = 3.0
"""Its width: the tiles are this deep; shelves on both sides."""
AISLE_APPROACH_M = 3.0
"""Floor without a zone before the first and after the last tile (the aisle's ends)."""


def aisle_tiles(spacing_m: float, *, double: int | None = None) -> Layout:
    """Zones tiling an aisle, ``spacing_m`` long each, a scanner above each tile's centre.

    ``double``: tile index where one zone twice as long (two scanners, each at its half's centre)
    replaces two tiles.
    """
    count = max(2, math.ceil(AISLE_LENGTH_M / spacing_m))
    y0, y1 = 2.0, 2.0 + AISLE_WIDTH_M
    mid = (y0 + y1) / 2
    start = AISLE_APPROACH_M
    zones: list[Zone] = []
    scanners: list[Scanner] = []
    i = 0
    while i < count:
        n = 2 if double is not None and i == double and i + 1 < count else 1
        x0 = start + i * spacing_m
        x1 = x0 + n * spacing_m
        ids = tuple(f"scn-{i + k}" for k in range(n))
        scanners += [Scanner(f"scn-{i + k}", x0 + (k + 0.5) * spacing_m, mid) for k in range(n)]
        zones.append(Zone(f"tile-{i}", ids, ((x0 + x1) / 2, mid), rect=(x0, y0, x1, y1), browse_axis=(1.0, 0.0)))
        i += n
    length = start * 2 + count * spacing_m
    return Layout(
        f"aisle-{spacing_m:g}m" + ("-double" if double is not None else ""),
        ((0.0, 0.0, length, y1 + 2.0),),
        tuple(zones),
        tuple(scanners),
        ((0.0, mid), (length, mid)),
        (-4.0, mid),
        (length + 4.0, mid),
        ((0.0, y0, length, y1),),  # the shelves on both sides are not floor
    )


def l_shape() -> Layout:
    """An L: a 30 m arm along x, a 30 m arm along y; spot zones along both, a corner zone everyone crosses."""
    rooms = ((0.0, 0.0, 30.0, 9.0), (21.0, 0.0, 30.0, 30.0))
    walkway = ((0.0, 4.5), (25.5, 4.5), (25.5, 30.0))
    rects: dict[str, Rect] = {
        "a1": (3.0, 0.0, 8.0, 2.5),
        "a2": (11.0, 6.5, 16.0, 9.0),
        "a3": (14.0, 0.0, 19.0, 2.5),
        "corner": (22.0, 1.0, 29.0, 8.0),
        "b1": (21.0, 12.0, 23.5, 17.0),
        "b2": (27.5, 16.0, 30.0, 21.0),
        "b3": (21.0, 23.0, 23.5, 28.0),
    }
    zones: list[Zone] = []
    scanners: list[Scanner] = []
    for zone_id, (x0, y0, x1, y1) in rects.items():
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        access = (cx, 4.5) if cy < 9.0 and zone_id != "corner" else (25.5, cy)
        axis = (0.0, 1.0 if access[1] > cy else -1.0) if access[0] == cx else (1.0 if access[0] > cx else -1.0, 0.0)
        zones.append(Zone(zone_id, (f"scn-{zone_id}",), access, rect=(x0, y0, x1, y1), browse_axis=axis))
        scanners.append(Scanner(f"scn-{zone_id}", cx, cy))
    return Layout("l-shape", rooms, tuple(zones), tuple(scanners), walkway, (-4.0, 4.5), (25.5, 34.0))
