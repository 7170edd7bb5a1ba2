"""The floor plan (``[floor]``, edge.floor): validated like every key, checked by ``edge doctor``, and used by
the model engine's layout (edge.zone_layout) -- without it, exactly the layout of before."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import msgspec
import pytest

from edge.config import from_mapping, load
from edge.errors import ConfigError
from edge.floor import FloorArea, FloorConfig, FloorDoor, off_floor
from edge.ops.checks import check_zones
from edge.presence import Sighting
from edge.presence_model import ZoneEstimator
from edge.sim.sweep.cells import CELLS
from edge.sim.sweep.layouts import aisle_tiles

T0 = 1_795_428_000.0

AISLE = """
[gateway]
gateway = "scn-0"

[[zones]]
id = "tile-0"
scanners = ["scn-0"]
area_m = [3.0, 2.0, 7.0, 5.0]

[[zones]]
id = "tile-1"
scanners = ["scn-1"]
area_m = [7.0, 2.0, 11.0, 5.0]

[[zones]]
id = "tile-2"
scanners = ["scn-2"]
area_m = [11.0, 2.0, 15.0, 5.0]

[[scanners]]
id = "scn-0"
x_m = 5.0
y_m = 3.5

[[scanners]]
id = "scn-1"
x_m = 9.0
y_m = 3.5

[[scanners]]
id = "scn-2"
x_m = 13.0
y_m = 3.5
"""

FLOOR = """
[[floor.area]]
rect_m = [0.0, 2.0, 18.0, 5.0]

[[floor.door]]
at_m = [0.0, 3.5]

[[floor.door]]
at_m = [18.0, 2.0, 18.0, 5.0]
"""


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "edge.toml"
    path.write_text(text)
    return path


def test_a_floor_plan_is_read_into_frozen_values(tmp_path: Path) -> None:
    config = load(_file(tmp_path, AISLE + FLOOR))
    floor = config.floor
    assert floor.area == (FloorArea(rect_m=(0.0, 2.0, 18.0, 5.0)),)
    assert [door.ends for door in floor.door] == [((0.0, 3.5), (0.0, 3.5)), ((18.0, 2.0), (18.0, 5.0))]
    assert floor.walkable(9.0, 3.0)
    assert not floor.walkable(9.0, 6.0)
    assert floor.outward(floor.door[0]) == (-1.0, 0.0)
    assert floor.outward(floor.door[1]) == (1.0, 0.0)
    assert floor.street(-2.0, 3.5, 5.0)
    assert not floor.street(2.0, 1.0, 5.0)
    with pytest.raises(AttributeError):
        floor.area[0].rect_m = (0.0, 0.0, 1.0, 1.0)  # type: ignore[misc]  # frozen
    assert not load(_file(tmp_path, AISLE)).floor.known  # optional: no floor plan


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        ("[[floor.area]]\nrect_m = [5.0, 0.0, 1.0, 4.0]\n", "floor.area[0].rect_m", "x0 < x1"),
        ("[[floor.area]]\nrect_m = [0.0, 0.0, 1.0]\n", "floor.area[0].rect_m", "length"),
        ("[[floor.door]]\nat_m = [0.0, 1.0]\n", "floor.door", "[[floor.area]]"),
        (
            "[[floor.area]]\nrect_m = [0.0, 0.0, 9.0, 4.0]\n[[floor.door]]\nat_m = [0.0, 1.0, 2.0]\n",
            "floor.door[0].at_m",
            "a point [x, y] or a segment",
        ),
        (
            "[[floor.area]]\nrect_m = [0.0, 0.0, 9.0, 4.0]\n[[floor.door]]\nat_m = [30.0, 1.0]\n",
            "floor.door[0].at_m",
            "floor's edge",
        ),
        ("[[floor.area]]\nrect = [0.0, 0.0, 9.0, 4.0]\n", "floor.area[0]", "unknown field `rect`"),
        ("[floor]\nareas = []\n", "floor", "unknown field `areas`"),
        ("[[floor.area]]\nrect_m = [0.0, 0.0, 1e6, 4.0]\n", "floor.area[0].rect_m", "10000"),
    ],
)
def test_a_bad_floor_names_the_file_the_key_and_the_problem(
    tmp_path: Path, text: str, where: str, problem: str
) -> None:
    path = _file(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert f"{path}: {where}" in str(caught.value)
    assert problem in str(caught.value)


def test_doctor_checks_every_zone_and_scanner_lies_on_the_floor(tmp_path: Path) -> None:
    good = load(_file(tmp_path, AISLE + FLOOR))
    assert check_zones(good).status == "ok"
    moved = AISLE.replace("x_m = 13.0\ny_m = 3.5", "x_m = 13.0\ny_m = 9.0").replace(
        "area_m = [11.0, 2.0, 15.0, 5.0]", "area_m = [11.0, 8.0, 15.0, 11.0]"
    )
    bad = check_zones(load(_file(tmp_path, moved + FLOOR)))
    assert bad.status == "fail"
    assert "scanner 'scn-2' at (13, 9) is 4.0 m off the floor" in bad.detail
    assert "zone 'tile-2': only 0% of area_m is on the floor" in bad.detail
    assert "[[floor.area]]" in bad.fix
    assert off_floor(FloorConfig(), [("z", (50.0, 50.0, 60.0, 60.0), 3.0, ())], [("s", 99.0, 99.0)]) == []
    shelf = FloorConfig(area=(FloorArea(rect_m=(0.0, 0.0, 10.0, 3.0)),))
    assert off_floor(shelf, [], [("on-the-shelf", 5.0, 3.8)]) == []  # scanners hang on shelving beside the floor
    assert off_floor(shelf, [("disc", None, 3.0, ("far",))], [("far", 5.0, 9.0)])[-1] == (
        "zone 'disc': nothing within 3 m of 'far' is floor"
    )


def _estimator(text: str) -> ZoneEstimator:
    config = from_mapping(tomllib.loads(text))
    presence = msgspec.structs.replace(config.presence, engine="model")
    return ZoneEstimator(config.zones, presence, config.scanners, config.floor)


def test_without_a_floor_plan_the_layout_is_exactly_the_old_one() -> None:
    config = from_mapping(tomllib.loads(AISLE))
    old = ZoneEstimator(config.zones, config.presence, config.scanners)._layout
    new = ZoneEstimator(config.zones, config.presence, config.scanners, FloorConfig())._layout
    assert (new.touches, new.tables, new.expected, new.zone_of) == (old.touches, old.tables, old.expected, old.zone_of)
    assert not new.floor_known
    assert not new.empty
    assert not new.misses


def test_on_a_floor_plan_a_middle_tile_has_no_surroundings_and_far_is_reached_by_the_doors() -> None:
    plain = _estimator(AISLE)._layout
    floored = _estimator(AISLE + FLOOR)._layout
    assert floored.floor_known
    middle = 1  # tile-1: the aisle's shelving on both sides is not floor, so nothing beside it but tiles
    assert {floored.rings[middle], floored.outer[middle]} <= floored.empty
    assert floored.rings[middle] not in {j for k in floored.subs[middle] for j in floored.touches[k]}
    assert plain.rings[middle] in {j for k in plain.subs[middle] for j in plain.touches[k]}
    # far (the street outside the doors, here) meets the floor only at the aisle's ends
    ends = {floored.rings[0], floored.outer[0], floored.rings[2], floored.outer[2]}
    assert set(floored.touches[0]) <= ends | set(floored.subs[0]) | set(floored.subs[2])
    assert set(plain.touches[0]) - ends  # without the plan far meets every zone's surroundings


def test_on_a_floor_plan_a_shopper_walks_the_aisle_tile_by_tile() -> None:
    est = _estimator(AISLE + FLOOR)
    entered: list[str] = []
    for step in range(4 * 22):  # in through the door at x = 0, 0.8 m/s along the aisle to x = 17, 4 Hz
        at = T0 + step / 4
        x = min(17.0, step / 4 * 0.8)
        for scanner, sx in (("scn-0", 5.0), ("scn-1", 9.0), ("scn-2", 13.0)):
            rssi = round(-59 - 22 * math.log10(math.hypot(x - sx, 0.8)))
            for event in est.observe(Sighting("s-1", "eddystone-eid", scanner, rssi, -59.0, at)):
                if event.kind == "entered":
                    entered.append(event.zone)
        est.tick(at)
        posterior = est.posterior("s-1")
        assert math.isclose(sum(posterior.values()), 1.0, rel_tol=1e-9)
    assert entered == ["tile-0", "tile-1", "tile-2"]


def test_the_sweep_tells_every_engine_the_cells_floor() -> None:
    layout = aisle_tiles(4.0)
    floor = layout.config().floor
    assert floor.area == tuple(FloorArea(rect_m=r) for r in layout.floor)
    assert floor.door == (FloorDoor(at_m=layout.walkway[0]), FloorDoor(at_m=layout.walkway[-1]))
    assert not layout.config(floor=False).floor.known
    assert from_mapping(msgspec.to_builtins(layout.config())).floor == floor


def test_every_sweep_store_lies_on_its_own_floor() -> None:
    for layout in {cell.layout.name: cell.layout for cell in CELLS}.values():
        config = layout.config()
        zones = ((z.id, z.area_m, z.radius_m, z.scanners) for z in config.zones)
        assert off_floor(config.floor, zones, ((s.id, s.x_m, s.y_m) for s in config.scanners)) == [], layout.name
