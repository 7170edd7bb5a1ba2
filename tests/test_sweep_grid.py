"""The sweep's prototype grid engine (edge/sim/sweep/grid.py): pure Python, told only the config and its floor."""

from __future__ import annotations

import math
import tomllib

import pytest

from edge.config import from_mapping
from edge.presence import Sighting
from edge.sim.sweep.grid import SparseGrid
from tests.test_floor import AISLE, FLOOR

T0 = 1_795_428_000.0


def test_the_grid_needs_a_floor_plan() -> None:
    with pytest.raises(ValueError, match=r"\[floor\]"):
        SparseGrid(from_mapping(tomllib.loads(AISLE)))


def test_a_shopper_walking_the_aisle_enters_each_tile_in_turn_and_leaves() -> None:
    grid = SparseGrid(from_mapping(tomllib.loads(AISLE + FLOOR)))
    changes: list[str | None] = []
    for step in range(4 * 60):  # in through the door at x = 0, 0.5 m/s to x = 18, then out of earshot
        at = T0 + step / 4
        x = step / 4 * 0.5
        if x < 18.5:
            for scanner, sx in (("scn-0", 5.0), ("scn-1", 9.0), ("scn-2", 13.0)):
                rssi = round(-59 - 22 * math.log10(math.hypot(x - sx, 0.8)))
                grid.observe(Sighting("s-1", "eddystone-eid", scanner, rssi, -59.0, at))
        for event in grid.tick(at):
            changes.append(event.zone if event.kind == "entered" else None)
    entered = [zone for zone in changes if zone is not None]
    assert entered == ["tile-0", "tile-1", "tile-2"]
    assert grid.zone_of("s-1") is None  # walked out of the last tile, then silent
