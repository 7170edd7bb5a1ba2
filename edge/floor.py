"""The store's floor plan (``[floor]`` in the config): where people can walk, and where they come in and go out.

Layout knowledge, like ``[[scanners]]`` positions and ``zones[].area_m``, in the same frame (metres):

- ``[[floor.area]]``: walkable rectangles ``rect_m = [x0, y0, x1, y1]`` (the building less its shelving:
  an aisle, a room, the space in front of the tills). Their union is the floor; overlaps are fine.
- ``[[floor.door]]``: where people enter or leave the building, a point ``at_m = [x, y]`` or a segment
  ``at_m = [x0, y0, x1, y1]`` (a wide entrance), on or beside the floor's edge.
- ``wall_loss_db``: what the building's outer wall takes off a reading of a shopper outside it (dB), where it
  is known (a survey); without it the grid engine learns it (:mod:`edge.presence_grid_wall`).

Optional: without a ``[floor]`` the model engine assumes the floor around the zones is all walkable
(their bounding box widened by :data:`~edge.constants_model.MODEL_OUTSIDE_MARGIN_M`) and people can come from
anywhere, as before. With one, it knows shelving is not floor, that the building ends at its walls and
that shoppers arrive and leave by the doors (:mod:`edge.zone_layout`). ``edge doctor`` checks that every
zone and positioned scanner lies on the floor (:func:`off_floor`).

Pure values and geometry: no I/O, no numpy.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Annotated

import msgspec
from msgspec import Meta

from edge.config_errors import InvalidConfigError

__all__ = ["FloorArea", "FloorConfig", "FloorDoor", "off_floor"]

LAYOUT_MAX_M = 10_000.0
"""Bound on floor coordinates (as edge.config's: a store is smaller than 10 km; larger values are typos)."""

SCANNER_OFF_FLOOR_M = 1.0
"""A scanner may hang this far beside the floor (on a shelf's top or a wall above the aisle's edge) and
still count as on it: scanners sit on the shelving, which is not floor."""

DOOR_OFF_FLOOR_M = 1.0
"""A door must come within this of the floor (it is in the wall at the floor's edge)."""

WALL_LOSS_MAX_DB = 60.0
"""Bound on ``wall_loss_db``: a metal-clad or coated-glass wall takes 30-40 dB at 2.4 GHz; more is a typo."""

Coordinate = Annotated[float, Meta(ge=-LAYOUT_MAX_M, le=LAYOUT_MAX_M)]
Rect = tuple[float, float, float, float]
Point = tuple[float, float]


class FloorArea(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One walkable rectangle of the floor."""

    rect_m: tuple[Coordinate, Coordinate, Coordinate, Coordinate]
    """``[x0, y0, x1, y1]`` in metres, x0 < x1 and y0 < y1."""

    def __post_init__(self) -> None:
        x0, y0, x1, y1 = self.rect_m
        if not (x0 < x1 and y0 < y1):
            raise InvalidConfigError("rect_m", "rect_m must be [x0, y0, x1, y1] with x0 < x1 and y0 < y1")

    def contains(self, x: float, y: float) -> bool:
        x0, y0, x1, y1 = self.rect_m
        return x0 <= x <= x1 and y0 <= y <= y1

    def distance(self, x: float, y: float) -> float:
        """From (x, y) to the rectangle (0 inside)."""
        x0, y0, x1, y1 = self.rect_m
        return math.hypot(max(x0 - x, 0.0, x - x1), max(y0 - y, 0.0, y - y1))


class FloorDoor(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A way in or out of the building: a point or a segment."""

    at_m: Annotated[tuple[Coordinate, ...], Meta(min_length=2, max_length=4)]
    """``[x, y]`` or ``[x0, y0, x1, y1]`` in metres."""

    def __post_init__(self) -> None:
        if len(self.at_m) not in (2, 4):
            raise InvalidConfigError("at_m", "at_m must be a point [x, y] or a segment [x0, y0, x1, y1]")

    @property
    def ends(self) -> tuple[Point, Point]:
        a = self.at_m
        return ((a[0], a[1]), (a[0], a[1])) if len(a) == 2 else ((a[0], a[1]), (a[2], a[3]))

    def distance(self, x: float, y: float) -> float:
        """From (x, y) to the door (a point or a segment)."""
        (ax, ay), (bx, by) = self.ends
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy
        u = 0.0 if length2 == 0.0 else min(1.0, max(0.0, ((x - ax) * dx + (y - ay) * dy) / length2))
        return math.hypot(x - (ax + u * dx), y - (ay + u * dy))


class FloorConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """``[floor]``: see the module docstring. Empty (no areas) means no floor plan is known."""

    area: tuple[FloorArea, ...] = ()
    door: tuple[FloorDoor, ...] = ()
    wall_loss_db: Annotated[float, Meta(ge=0.0, le=WALL_LOSS_MAX_DB)] | None = None
    """The outer wall's loss (dB) off a reading of a shopper outside the building, where known; None: learned."""

    def __post_init__(self) -> None:
        if self.wall_loss_db is not None and not self.area:
            raise InvalidConfigError("wall_loss_db", "a wall needs its floor: add [[floor.area]] rectangles")
        if self.door and not self.area:
            raise InvalidConfigError("door", "doors need the floor they lead onto: add [[floor.area]] rectangles")
        for index, door in enumerate(self.door):
            if self.distance(*door.ends[0]) > DOOR_OFF_FLOOR_M and self.distance(*door.ends[1]) > DOOR_OFF_FLOOR_M:
                raise InvalidConfigError(
                    f"door[{index}].at_m",
                    f"more than {DOOR_OFF_FLOOR_M:g} m from every [[floor.area]]: put the door at the floor's edge",
                )

    @property
    def known(self) -> bool:
        """A floor plan is given."""
        return bool(self.area)

    def walkable(self, x: float, y: float) -> bool:
        return any(area.contains(x, y) for area in self.area)

    def distance(self, x: float, y: float) -> float:
        """From (x, y) to the nearest walkable rectangle (0 on the floor; infinite without a plan)."""
        return min((area.distance(x, y) for area in self.area), default=math.inf)

    def door_distance(self, x: float, y: float) -> float:
        """From (x, y) to the nearest door (infinite without doors)."""
        return min((door.distance(x, y) for door in self.door), default=math.inf)

    def outward(self, door: FloorDoor) -> Point:
        """The unit direction out of the building at ``door``: the normal of the floor's edge nearest it, away
        from the floor (a door on a corner takes the side it is nearer to)."""
        (ax, ay), (bx, by) = door.ends
        x, y = (ax + bx) / 2, (ay + by) / 2
        area = min(self.area, key=lambda a: a.distance(x, y))
        x0, y0, x1, y1 = area.rect_m
        if not area.contains(x, y):  # beside the floor: straight away from it
            px, py = min(max(x, x0), x1), min(max(y, y0), y1)
            d = math.hypot(x - px, y - py)
            return ((x - px) / d, (y - py) / d)
        sides = ((x - x0, (-1.0, 0.0)), (x1 - x, (1.0, 0.0)), (y - y0, (0.0, -1.0)), (y1 - y, (0.0, 1.0)))
        return min(sides)[1]

    def street(self, x: float, y: float, reach_m: float) -> bool:
        """(x, y) is off the floor, outside a door and within ``reach_m`` of it (where arriving and leaving
        shoppers walk, heard through the door)."""
        if self.walkable(x, y):
            return False
        for door in self.door:
            if door.distance(x, y) <= reach_m:
                (ax, ay), (bx, by) = door.ends
                nx, ny = self.outward(door)
                if (x - (ax + bx) / 2) * nx + (y - (ay + by) / 2) * ny > 0.0:
                    return True
        return False

    def bounds(self) -> Rect:
        """The bounding box of the floor and its doors (the floor must be known)."""
        xs = [v for area in self.area for v in (area.rect_m[0], area.rect_m[2])]
        ys = [v for area in self.area for v in (area.rect_m[1], area.rect_m[3])]
        xs += [p[0] for door in self.door for p in door.ends]
        ys += [p[1] for door in self.door for p in door.ends]
        return min(xs), min(ys), max(xs), max(ys)


def _share_on_floor(floor: FloorConfig, rect: Rect, step_m: float = 0.25) -> float:
    """The share of a rectangle's area that is on the floor (sampled on a grid of ``step_m``)."""
    x0, y0, x1, y1 = rect
    nx, ny = max(1, round((x1 - x0) / step_m)), max(1, round((y1 - y0) / step_m))
    hits = sum(
        floor.walkable(x0 + (i + 0.5) * (x1 - x0) / nx, y0 + (j + 0.5) * (y1 - y0) / ny)
        for i in range(nx)
        for j in range(ny)
    )
    return hits / (nx * ny)


def off_floor(
    floor: FloorConfig,
    zones: Iterable[tuple[str, Rect | None, float, tuple[str, ...]]],
    scanners: Iterable[tuple[str, float, float]],
) -> list[str]:
    """What does not lie on a known floor, in words (empty when all is well or no floor is given).

    ``zones``: (id, area_m or None, radius_m, scanner ids); ``scanners``: (id, x_m, y_m). A zone is on the
    floor when its centre is (its area's, or each positioned scanner's disc); a scanner when it is within
    :data:`SCANNER_OFF_FLOOR_M` of it."""
    if not floor.known:
        return []
    problems: list[str] = []
    placed: dict[str, Point] = {}
    for scanner_id, x, y in scanners:
        placed[scanner_id] = (x, y)
        if floor.distance(x, y) > SCANNER_OFF_FLOOR_M:
            problems.append(f"scanner {scanner_id!r} at ({x:g}, {y:g}) is {floor.distance(x, y):.1f} m off the floor")
    for zone_id, area, radius, members in zones:
        if area is not None:
            x0, y0, x1, y1 = area
            share = _share_on_floor(floor, area)
            if not floor.walkable((x0 + x1) / 2, (y0 + y1) / 2) and share < 0.5:
                problems.append(f"zone {zone_id!r}: only {share:.0%} of area_m is on the floor")
            continue
        for scanner_id in members:
            if scanner_id in placed:
                x, y = placed[scanner_id]
                share = _share_on_floor(floor, (x - radius, y - radius, x + radius, y + radius))
                if share == 0.0:
                    problems.append(f"zone {zone_id!r}: nothing within {radius:g} m of {scanner_id!r} is floor")
    return problems
