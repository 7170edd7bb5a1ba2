"""The presence sweep's simulator: consistent ground truth, valid configs, determinism per seed, and an
oracle that beats the naive nearest-scanner reference."""

from __future__ import annotations

import itertools

import msgspec
import pytest

from benchmarks.presence_sweep import figures, run_one
from edge.config import from_mapping
from edge.sim.shoppers import Leg, Trip
from edge.sim.sweep import simulate
from edge.sim.sweep.cells import CELLS
from edge.sim.sweep.layouts import Layout, aisle_tiles
from edge.sim.sweep.shoppers import visits

LAYOUTS = {cell.layout.name: cell.layout for cell in CELLS}


@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_a_shopper_standing_at_a_zone_centre_is_inside_it(layout: Layout) -> None:
    for zone in layout.zones:
        x, y = zone.centre
        assert layout.zone_at(x, y) == zone.id
        trip = Trip(start=0.0, legs=[Leg(0.0, 30.0, (x, y), (x, y))], starts=[0.0])
        assert visits(layout, trip) == [(zone.id, 0.0, 30.0)]


@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_zones_do_not_overlap_and_every_config_validates(layout: Layout) -> None:
    config = from_mapping(msgspec.to_builtins(layout.config()))
    assert {z.id for z in config.zones} == {z.id for z in layout.zones}
    assert {s.id for s in config.scanners} == {s for z in config.zones for s in z.scanners}
    for zone in layout.zones:
        x, y = zone.centre
        assert [z.id for z in layout.zones if z.contains(x, y)] == [zone.id]


def test_walking_through_a_tiled_aisle_visits_each_tile_in_turn() -> None:
    layout = aisle_tiles(4.0)
    y = layout.zones[0].centre[1]
    trip = Trip(start=0.0, legs=[Leg(0.0, 30.0, (0.0, y), (30.0, y))], starts=[0.0])
    found = visits(layout, trip)
    assert [v[0] for v in found] == [z.id for z in layout.zones]
    for (_, _, left), (_, entered, _) in itertools.pairwise(found):
        assert left == pytest.approx(entered)  # tiles share their boundaries: no gap, no overlap


def test_a_cell_is_deterministic_per_seed() -> None:
    cell = CELLS[0]
    first = simulate(cell, 3, minutes=2.0, shoppers=4)
    again = simulate(cell, 3, minutes=2.0, shoppers=4)
    other = simulate(cell, 4, minutes=2.0, shoppers=4)
    assert first.sightings
    assert first.sightings == again.sightings
    assert [s.truth for s in first.shoppers] == [s.truth for s in again.shoppers]
    assert first.sightings != other.sightings


def test_every_sighting_is_time_ordered_and_from_a_known_scanner() -> None:
    cell = CELLS[6]
    run = simulate(cell, 1, minutes=2.0, shoppers=4)
    ids = {s.id for s in cell.layout.scanners}
    assert all(a.at <= b.at for a, b in zip(run.sightings, run.sightings[1:], strict=False))
    assert {s.scanner for s in run.sightings} <= ids


def test_the_oracle_beats_nearest_scanner_on_a_small_cell() -> None:
    pytest.importorskip("numpy")
    _, tallies, _ = run_one(0, 1, 4.0, 8)
    oracle, nearest = figures(tallies["oracle"]), figures(tallies["nearest"])
    assert oracle["error"] is None
    assert oracle["visits"] > 5
    assert oracle["right_zone_pct"] > nearest["right_zone_pct"]
    assert oracle["spurious_per_shopper_hour"] < nearest["spurious_per_shopper_hour"]


def test_settled_truth_merges_short_gaps_and_sets_transits_apart() -> None:
    from edge.sim.sweep.judge import settle

    truth = [("a", 0.0, 10.0), ("b", 10.0, 11.0), ("a", 12.0, 20.0), ("c", 30.0, 32.0), ("d", 40.0, 50.0)]
    kept, transits = settle(truth)
    assert kept == [("a", 0.0, 20.0), ("d", 40.0, 50.0)]  # a, 2 s away (a transit of b), a again: one visit
    assert transits == [("c", 30.0, 32.0)]  # 2 s in c: walked through


def test_a_transit_is_neither_required_nor_spurious() -> None:
    from edge.sim.sweep.judge import Score, match

    score = Score()
    match(score, [("a", 0.0, 20.0)], [("b", 25.0, 27.0)], [("a", 1.0, 22.0), ("b", 25.5, 28.0)], 100.0)
    assert (score.enter, score.exit, score.missed, score.spurious_visits) == ([1.0], [2.0], 0, 0)
    score = Score()
    match(score, [("a", 0.0, 20.0)], [], [("a", 1.0, 22.0), ("b", 25.5, 28.0)], 100.0)
    assert score.spurious_visits == 1


def test_the_default_engine_is_judged_as_the_engine_each_cell_s_config_chooses() -> None:
    """The sweep reports the gateway's default (``auto``): in each cell the engine its config chooses -- the grid in
    the drawn stores (aisle tiles, the L-shape), the threshold engine in the spot stores -- and its figures there."""
    from benchmarks.presence_sweep import GIVE_FLOOR, capped_badness, default_engine
    from edge.config import chosen_engine

    chosen = {cell.layout.name: chosen_engine(cell.layout.config(floor=GIVE_FLOOR)) for cell in CELLS}
    assert {name for name, engine in chosen.items() if engine == "threshold"} == {"spots"}
    goals = {"enter_p95_s": 3.0, "exit_p95_s": 8.0, "right_zone_pct": 95.0, "spurious_per_shopper_hour": 0.5}
    good = {"enter_p95_s": 2.0, "exit_p95_s": 4.0, "right_zone_pct": 96.0, "spurious_per_shopper_hour": 0.0}
    bad = {"enter_p95_s": None, "exit_p95_s": 4.0, "right_zone_pct": 90.0, "spurious_per_shopper_hour": 0.0}
    rows = [
        {"default": "grid", "engines": {"grid": good, "threshold": bad}, "goals": goals,
         "pass": {"grid": True, "threshold": False}},
        {"default": "threshold", "engines": {"grid": bad, "threshold": good}, "goals": goals,
         "pass": {"grid": False, "threshold": True}},
    ]  # fmt: skip
    assert capped_badness(rows[0], "threshold") == 5.0  # (an infinite entry, capped)
    assert default_engine(rows) == {"passed": 2, "capped_badness": 1.6, "grid_cells": 1}
    del rows[0]["engines"]["grid"]
    assert default_engine(rows) is None, "without the engine a cell's default runs, there is no default's figure"
