"""``[presence] engine = "auto"`` (the default): the grid where the config draws the store, the threshold engine
elsewhere (:func:`edge.config.chosen_engine`); a named engine is always the one that runs."""

from __future__ import annotations

import logging
import random

import msgspec
import pytest

from edge.config import Config, chosen_engine, from_mapping
from edge.core import Core
from edge.errors import ConfigError
from edge.events import EventFactory
from edge.floor import FloorConfig
from edge.presence import PresenceEngine
from edge.presence_grid import GridEstimator
from edge.sim.store import default_config
from edge.sim.sweep import simulate
from edge.sim.sweep.cells import CELLS

TILES = CELLS[2]
"""The sweep's aisle of 4 m tiles: zones drawn as rectangles on a floor plan, each under a placed scanner."""


def drawn() -> Config:
    return TILES.layout.config()


def test_a_drawn_store_runs_the_grid_and_the_bundled_store_the_threshold_engine() -> None:
    assert drawn().presence.engine == "auto"
    assert chosen_engine(drawn()) == "grid"
    bundled = default_config()
    assert bundled.presence.engine == "auto"
    assert bundled.floor.known, "the bundled store has a floor plan..."
    assert all(zone.area_m is None for zone in bundled.zones), "...but its zones are named by their scanners"
    assert chosen_engine(bundled) == "threshold"


def test_a_store_not_wholly_drawn_keeps_the_threshold_engine() -> None:
    config = drawn()
    no_floor = msgspec.structs.replace(config, floor=FloorConfig())
    assert chosen_engine(no_floor) == "threshold"
    first, *rest = config.zones
    one_undrawn = msgspec.structs.replace(config, zones=(msgspec.structs.replace(first, area_m=None), *rest))
    assert chosen_engine(one_undrawn) == "threshold"
    unplaced = msgspec.structs.replace(config, scanners=tuple(s for s in config.scanners if s.id not in first.scanners))
    assert chosen_engine(unplaced) == "threshold", "a zone no placed scanner hears is not on the drawing"
    assert chosen_engine(msgspec.structs.replace(config, zones=())) == "threshold"
    x0, y0, x1, y1 = first.area_m or (0.0, 0.0, 0.0, 0.0)
    far = msgspec.structs.replace(first, area_m=(x0 + 100.0, y0, x1 + 100.0, y1))
    off = msgspec.structs.replace(config, zones=(far, *rest))
    assert chosen_engine(off) == "threshold", "a zone drawn off the floor: the grid would never place anyone there"


@pytest.mark.parametrize("named", ["threshold", "model", "grid"])
def test_a_named_engine_is_the_one_that_runs(named: str) -> None:
    data = msgspec.to_builtins(drawn())
    data["presence"]["engine"] = named
    assert chosen_engine(from_mapping(data)) == named


def test_the_config_file_may_say_auto_or_nothing() -> None:
    data = msgspec.to_builtins(drawn())
    data["presence"].pop("engine", None)
    assert from_mapping(data).presence.engine == "auto"
    data["presence"]["engine"] = "auto"
    assert chosen_engine(from_mapping(data)) == "grid"
    data["presence"]["engine"] = "best"
    with pytest.raises(ConfigError, match=r"presence\.engine"):
        from_mapping(data)


def test_the_grid_named_without_a_floor_is_still_refused() -> None:
    data = msgspec.to_builtins(msgspec.structs.replace(drawn(), floor=FloorConfig()))
    data["presence"]["engine"] = "grid"
    with pytest.raises(ConfigError, match="floor plan"):
        from_mapping(data)
    data["presence"]["engine"] = "auto"
    assert chosen_engine(from_mapping(data)) == "threshold"


def test_the_gateway_core_builds_the_chosen_engine_and_it_places_shoppers(caplog: pytest.LogCaptureFixture) -> None:
    """The core of a drawn store runs the grid and says so in its log: a minute of the tiled aisle's shoppers through
    it enters zones, each ``entered`` carrying the zone's posterior share; the bundled store's core runs the threshold
    engine."""
    factory = EventFactory("store-1", "gw-1", random.Random(1))
    caplog.set_level(logging.INFO, logger="edge.core")
    assert isinstance(Core(default_config(), factory).engine, PresenceEngine)
    assert "presence engine: threshold" in caplog.text
    core = Core(drawn(), factory)
    assert "presence engine: grid (auto: the store is drawn)" in caplog.text
    engine = core.engine
    assert isinstance(engine, GridEstimator)
    run = simulate(TILES, 1, minutes=2.0, shoppers=6)
    entered = []
    next_tick = run.start
    for sighting in run.sightings:
        while next_tick <= sighting.at:
            entered += [e for e in engine.tick(next_tick) if e.kind == "entered"]
            next_tick += 0.25
        entered += [e for e in engine.observe(sighting) if e.kind == "entered"]
    assert entered, "nobody was placed in two minutes of a tiled aisle"
    zones = {zone.id for zone in drawn().zones}
    assert {e.zone for e in entered} <= zones
    assert all(e.probability is not None and 0.5 <= e.probability <= 1.0 for e in entered)
    placed = next(e.token for e in entered if engine.zone_of(e.token) is not None)
    core.withdraw(placed)  # the core's withdrawal reaches the grid as it reaches the threshold engine
    assert engine.zone_of(placed) is None
    assert placed not in {o.token for o in engine.occupants()}
    assert not [e for e in engine.tick(next_tick) if e.token == placed], "nothing more is said of a withdrawn token"


def test_the_drawn_example_is_the_sweeps_tiled_aisle_and_runs_the_grid() -> None:
    """examples/aisle-drawn.toml names no engine: it is drawn, so the default runs the grid, and doctor says so."""
    from pathlib import Path

    from edge.config import load
    from edge.ops.checks import check_zones

    example = load(Path(__file__).resolve().parent.parent / "examples" / "aisle-drawn.toml")
    assert example.presence.engine == "auto"
    assert chosen_engine(example) == "grid"
    assert (example.zones, example.scanners, example.floor) == (drawn().zones, drawn().scanners, drawn().floor)
    assert check_zones(example).detail.endswith("the presence engine grid (auto: the store is drawn)")
