"""The simulated store's floor plan (issue 13): its config carries the floor the simulator walks shoppers on,
so the grid engine runs on the bundled store, and the other engines are unchanged or told the truth."""

from __future__ import annotations

import asyncio
import itertools
import tempfile
from pathlib import Path

import msgspec
import pytest

from edge import app
from edge.beacons.advert import Advertisement
from edge.beacons.replay import ItemsSource
from edge.config import chosen_engine, from_mapping, load
from edge.events import Event
from edge.floor import off_floor
from edge.inputs import Item
from edge.sim import plan as floor
from edge.sim.store import SimulatedStore, default_config

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "sim-store-grid.toml"


def test_the_bundled_config_validates_with_the_grid_engine() -> None:
    config = default_config("grid")
    again = from_mapping(msgspec.to_builtins(config))  # every rule the config loader applies
    assert again == config
    assert again.presence.engine == "grid"
    assert again.floor.known
    assert len(again.floor.door) == 2
    assert {s.id for s in again.scanners} == {s for s, _ in floor.DEFAULT_PLAN.scanners}
    zones = [(z.id, z.area_m, z.radius_m, z.scanners) for z in again.zones]
    assert off_floor(again.floor, zones, [(s.id, s.x_m, s.y_m) for s in again.scanners]) == []
    assert chosen_engine(default_config()) == "threshold", "the default (auto) runs the threshold engine here"
    assert default_config().floor == config.floor


def test_the_example_config_is_the_simulated_store_with_the_grid_engine() -> None:
    """examples/sim-store-grid.toml says what default_config("grid") says of the store (all but the motion tags)."""
    example, bundled = load(EXAMPLE, trace_given=True), default_config("grid")
    assert example.presence == bundled.presence
    assert example.gateway == bundled.gateway
    assert example.zones == bundled.zones
    assert example.scanners == bundled.scanners
    assert example.floor == bundled.floor
    assert example.screens == bundled.screens
    assert example.shelves == bundled.shelves


def test_every_place_a_simulated_shopper_goes_inside_the_building_is_on_the_floor() -> None:
    """The floor is where the simulator walks people (departments, the main aisle, the doors' lobbies): every
    position of every trip, rostered and anonymous, random and scripted, on three seeds."""
    checked = 0
    for seed, opening in ((1, False), (2, False), (3, True)):
        store = SimulatedStore(seed=seed, shoppers=10, opening=opening)
        walkable = store.config.floor.walkable
        end = store.start + 1800.0
        for person in [s.person for s in store.shoppers] + store.anonymous:
            person.trip_from(end)
            for leg in (leg for trip in person.trips if trip.start < end for leg in trip.legs):
                steps = max(1, int(leg.t1 - leg.t0))  # a point a second: under 1.3 m apart
                for k in range(steps + 1):
                    x, y = leg.at(leg.t0 + (leg.t1 - leg.t0) * k / steps)
                    if floor.inside_building(x, y):
                        checked += 1
                        assert walkable(x, y), f"seed {seed}: ({x:.2f}, {y:.2f}) is off the floor"
    assert checked > 10_000


def test_the_floor_has_shelving_between_the_departments() -> None:
    """Not the whole building: the gondolas between the departments and the wall shelves are not floor."""
    walkable = default_config().floor.walkable
    assert walkable(12.0, 5.0) is False  # between the entrance and produce
    assert walkable(26.0, 18.0) is False  # between household and drinks
    assert walkable(19.0, 0.5) is False  # the front wall's shelves
    assert walkable(19.0, 12.0)  # the main aisle
    assert walkable(19.0, 4.0)  # produce
    assert walkable(1.0, 4.0)  # the entrance's lobby


def _run(items: list[Item], store: SimulatedStore) -> list[Event]:
    out: list[Event] = []
    source = ItemsSource(iter(items), start=store.start, speed=None)
    with tempfile.TemporaryDirectory() as state:
        asyncio.run(app.run(store.config, source, sinks=[out.append], fast=True, state_dir=Path(state)))
    return out


@pytest.mark.parametrize("engine", ["grid", "model"])
def test_a_short_simulated_run_gives_presence_events_for_rostered_shoppers_only(engine: str) -> None:
    store = SimulatedStore(seed=3, shoppers=20, engine=engine)  # type: ignore[arg-type]
    assert store.config.presence.engine == engine
    end = store.start + 300.0
    items = list(itertools.takewhile(lambda item: item.at <= end, store.items()))
    events = _run(items, store)
    presence = [e for e in events if e.type.startswith("edge.presence.")]
    rostered = {s.token for s in store.shoppers}
    entered = {e.data["token"] for e in presence if e.type == "edge.presence.entered"}
    visited = {s.token for s in store.shoppers if any(a < end - 10.0 for _, a, _ in store.visits(s.token, end))}
    assert len(visited) >= 5
    assert len(entered & visited) >= 0.8 * len(visited), f"{engine}: {len(entered & visited)} of {len(visited)}"
    assert {e.data["token"] for e in presence} <= rostered
    late = [e for e in events if e.token == store.withdrawn_token and e.time > store.withdraw_at]
    assert late == [], "nothing about a shopper after their withdrawal"
    emitted = b"\n".join(e.to_json("urn:edge:store-1:gw-1") for e in events)
    addresses = {i.address for i in items if isinstance(i, Advertisement)}
    assert not any(address.encode() in emitted for address in addresses)


@pytest.mark.parametrize("engine", ["grid", "model"])
def test_the_demos_scripted_opening_plays_with_the_other_engines(engine: str) -> None:
    """``edge demo``'s first minute (edge/sim/opening.py) with the store's config set to another engine: Ada
    enters the baby zone within seconds and leaves it before Ben arrives there."""
    store = SimulatedStore(seed=7, opening=True, engine=engine)  # type: ignore[arg-type]
    end = store.start + 60.0
    events = _run(list(itertools.takewhile(lambda item: item.at <= end, store.items())), store)
    ada, ben = store.shoppers[0].token, store.shoppers[1].token
    baby = [(e.type.rsplit(".", 1)[-1], e.data["token"], e.time - store.start) for e in events if e.subject == "baby"]
    moves = [(kind, token) for kind, token, _ in baby if kind != "dwell"]
    assert moves[:3] == [("entered", ada), ("exited", ada), ("entered", ben)]
    assert baby[0][2] < 8.0
