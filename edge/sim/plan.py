"""The simulated store's floor plan, and the gateway config that matches it.

A 40 m x 24 m supermarket, metres, origin at the front-left corner::

    y=20   baby (6,20)          household (19,20)         drinks (32,20)
    y=12   =================== main aisle (y = 12) ===================
    y=4    entrance (5,4)       produce (19,4)            checkout (31,4)+(35,4)
       door in (0,4)                                              door out (40,4)

Its floor (:attr:`FloorPlan.walkable`, what ``[floor]`` of the simulated store's config says)::

    y=23    +-----+       +------+       +------+          back wall shelving (1 m)
            |baby |       |house-|       |drinks|          each department a bay as wide as
            |     |shelv- |hold  |shelv- |      |          its zone, open onto the aisle
    y=13.5 -+-----+-------+------+-------+------+------+
    y=10.5  |  main aisle, 3 m wide, x = 2 .. 38        |
         +--+----+        +------+       +-------------+--+
    door |entr-  | shelv- |pro-  |shelv- |  checkout   |  | door
    (0,4)|ance   | ing    |duce  |ing    |  two tills  |  | (40,4)
    y=1  +-------+        +------+       +-------------+--+

everything else inside the walls is shelving (gondolas between the departments, the wall shelves):
the simulated shoppers never stand or walk there (``tests/test_sim_floor.py`` checks every position of
every trip on several seeds). The doors are 3 m wide, centred on where shoppers come in and go out.

Each zone has a scanner at its centre (checkout has two, one per till). **Ground truth**: a
shopper is in zone Z while within :data:`ZONE_RADIUS_M` (3 m) of one of Z's scanners, and in no
zone anywhere else (the aisle, the doorways, outside): the zone is "in front of this department's
shelves and screen", which is what entering it triggers. Zones are at least 10 m apart, so between
two zones there is always a stretch of "no zone". Shoppers walk from a zone to the aisle, along
it, and into the next zone; the aisle is 8 m from every scanner.

Deployment rule this layout follows: the nearest walkway that is
not part of a zone should be at least 2.5 zone radii from its scanner; nearer than that, a phone
passing by reads like one at the zone's edge and no RSSI engine can tell them apart in time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Point = tuple[float, float]

ZONE_RADIUS_M = 3.0
"""Ground-truth radius of a zone around each of its scanners: the shelf bays in front of the
scanner and the screen above them."""

STAND_RADIUS_M = 1.5
"""Where shoppers stop while in a zone: uniformly within this distance of one of its scanners
(at the shelves), so a shopper who is browsing is never on the edge of the zone."""

STORE_WIDTH_M = 40.0
STORE_DEPTH_M = 24.0
"""The building; outside it the walls cost :data:`edge.sim.radio.WALL_LOSS_DB`."""

AISLE_Y_M = 12.0
"""The main aisle's centre line: every zone's ``aisle`` point is on it."""
AISLE_HALF_WIDTH_M = 1.5
"""The main aisle is 3 m wide (two trolleys pass); shoppers walk its middle."""
WALL_SHELF_M = 1.0
"""Shelving along the front and back walls is 1 m deep: a department's floor starts 1 m off the wall (a
zone's 3 m disc around a scanner 4 m from the wall reaches down to it)."""
DOOR_WIDTH_M = 3.0
"""Both doors are 3 m wide (a supermarket's automatic sliding doors), centred on ``door_in`` / ``door_out``;
between a door and its department a lobby of the same width."""

Rect = tuple[float, float, float, float]


@dataclass(frozen=True, slots=True)
class ShelfPlan:
    id: str
    skus: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ZonePlan:
    """One zone: its scanners (id and position), where it meets the aisle, how long people stay."""

    id: str
    tags: tuple[str, ...]
    scanners: tuple[tuple[str, Point], ...]
    aisle: Point
    dwell_s: tuple[float, float]
    shelves: tuple[ShelfPlan, ...] = ()
    screen: str | None = None

    def contains(self, x: float, y: float) -> bool:
        r2 = ZONE_RADIUS_M * ZONE_RADIUS_M
        return any((x - sx) ** 2 + (y - sy) ** 2 <= r2 for _, (sx, sy) in self.scanners)


@dataclass(frozen=True, slots=True)
class FloorPlan:
    zones: tuple[ZonePlan, ...]
    entrance: str
    checkout: str
    aisles: tuple[str, ...]
    """The zones a trip picks its middle stops from."""
    outside_in: Point
    door_in: Point
    door_out: Point
    outside_out: Point
    walkable: tuple[Rect, ...] = ()
    """The floor: rectangles ``(x0, y0, x1, y1)`` where shoppers can stand and walk (the building less its
    shelving); empty: not known. The gateway's ``[[floor.area]]``."""
    doors: tuple[Rect, ...] = ()
    """The doors as segments ``(x0, y0, x1, y1)`` in the walls. The gateway's ``[[floor.door]]``."""

    def zone(self, zone_id: str) -> ZonePlan:
        return next(zone for zone in self.zones if zone.id == zone_id)

    @property
    def scanners(self) -> tuple[tuple[str, Point], ...]:
        return tuple(scanner for zone in self.zones for scanner in zone.scanners)

    def zone_at(self, x: float, y: float) -> str | None:
        """Ground truth: the zone whose radius (x, y) is in, or None."""
        for zone in self.zones:
            if zone.contains(x, y):
                return zone.id
        return None


def inside_building(x: float, y: float) -> bool:
    return 0.0 <= x <= STORE_WIDTH_M and 0.0 <= y <= STORE_DEPTH_M


def distance(a: Point, b: Point) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


def _zone(
    zone_id: str,
    tags: tuple[str, ...],
    scanners: dict[str, Point],
    aisle: Point,
    dwell_s: tuple[float, float] = (20.0, 120.0),
    shelves: dict[str, tuple[str, ...]] | None = None,
    screen: str | None = None,
) -> ZonePlan:
    shelf_plans = tuple(ShelfPlan(shelf, skus) for shelf, skus in (shelves or {}).items())
    return ZonePlan(zone_id, tags, tuple(scanners.items()), aisle, dwell_s, shelf_plans, screen)


def department_floor(
    zones: tuple[ZonePlan, ...], doors: tuple[Point, ...]
) -> tuple[tuple[Rect, ...], tuple[Rect, ...]]:
    """The floor of a store laid out as this one (walkable rectangles, door segments): each zone a department
    bay as wide as its discs, from the wall shelving to the main aisle; the aisle from the first bay to the
    last; from each door (in the left or right wall) a lobby :data:`DOOR_WIDTH_M` wide to the bays."""
    aisle_y0, aisle_y1 = AISLE_Y_M - AISLE_HALF_WIDTH_M, AISLE_Y_M + AISLE_HALF_WIDTH_M
    bays: list[Rect] = []
    for zone in zones:
        xs = [x for _, (x, _) in zone.scanners]
        front = zone.scanners[0][1][1] < AISLE_Y_M
        y0, y1 = (WALL_SHELF_M, aisle_y0) if front else (aisle_y1, STORE_DEPTH_M - WALL_SHELF_M)
        bays.append((max(0.0, min(xs) - ZONE_RADIUS_M), y0, min(STORE_WIDTH_M, max(xs) + ZONE_RADIUS_M), y1))
    aisle = (min(b[0] for b in bays), aisle_y0, max(b[2] for b in bays), aisle_y1)
    half = DOOR_WIDTH_M / 2
    lobbies: list[Rect] = []
    segments: list[Rect] = []
    for dx, dy in doors:
        beside = [b for b in bays if b[1] <= dy <= b[3]]
        if dx <= 0.0 and beside:
            lobbies.append((dx, dy - half, min(b[0] for b in beside), dy + half))
        elif dx >= STORE_WIDTH_M and beside:
            lobbies.append((max(b[2] for b in beside), dy - half, dx, dy + half))
        else:
            raise ValueError(f"a door at ({dx:g}, {dy:g}) is not in a side wall beside a department")
        segments.append((dx, dy - half, dx, dy + half))
    return (*bays, aisle, *lobbies), tuple(segments)


_ZONES = (
    _zone("entrance", ("entrance", "promotions"), {"scn-entrance": (5.0, 4.0)}, (5.0, 12.0), (20.0, 40.0),
          screen="screen-3"),
    _zone("produce", ("fresh", "produce"), {"scn-produce": (19.0, 4.0)}, (19.0, 12.0),
          shelves={"shelf-b1": ("4011", "4015", "4062", "2000000012340")}),
    _zone("checkout", ("checkout",), {"scn-checkout-a": (31.0, 4.0), "scn-checkout-b": (35.0, 4.0)},
          (33.0, 12.0), (30.0, 120.0)),
    _zone("baby", ("baby", "families"), {"scn-baby": (6.0, 20.0)}, (6.0, 12.0),
          shelves={"shelf-a3": ("4006381333931", "4062300020719", "4066447244320")}, screen="screen-1"),
    _zone("household", ("household",), {"scn-household": (19.0, 20.0)}, (19.0, 12.0),
          shelves={"shelf-d1": ("4015000961502", "8710447348247")}),
    _zone("drinks", ("drinks", "alcohol"), {"scn-drinks": (32.0, 20.0)}, (32.0, 12.0),
          shelves={"shelf-c2": ("4008287054207", "4104450004642", "3263280102605")}, screen="screen-2"),
)  # fmt: skip
_FLOOR, _DOORS = department_floor(_ZONES, ((0.0, 4.0), (40.0, 4.0)))

DEFAULT_PLAN = FloorPlan(
    zones=_ZONES,
    entrance="entrance",
    checkout="checkout",
    aisles=("produce", "baby", "household", "drinks"),
    outside_in=(-6.0, 4.0),
    door_in=(0.0, 4.0),
    door_out=(40.0, 4.0),
    outside_out=(46.0, 4.0),
    walkable=_FLOOR,
    doors=_DOORS,
)
