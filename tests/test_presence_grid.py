"""The grid engine (edge.presence_grid): the same filter as the sweep's prototype, and the estimator's
properties whatever the sightings and ticks (the posterior is a distribution; silence never raises the zone a
shopper stands in; a scanner of zone A never puts anyone in zone B; one zone at a time; silence always ends in
an exit; forget() purges a token), the config's rule (it needs a floor plan) and the pipeline with it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge import presence_grid, presence_grid_evidence, presence_grid_windows
from edge.config import Config, from_mapping, load
from edge.errors import ConfigError
from edge.presence import PresenceEvent, Sighting
from edge.presence_grid import GridEngineError, GridEstimator
from edge.sim.sweep import simulate
from edge.sim.sweep.cells import CELLS
from edge.sim.sweep.grid import ENTER_P as SPARSE_ENTER_P
from edge.sim.sweep.grid import SparseGrid
from edge.sim.sweep.judge import TICK_S

T0 = 1_795_428_000.0

STORE = {
    "zones": [
        {"id": "a", "scanners": ["gw-a"], "area_m": [0.0, 0.0, 4.0, 4.0]},
        {"id": "b", "scanners": ["gw-b"], "area_m": [28.0, 0.0, 32.0, 4.0]},
    ],
    "scanners": [{"id": "gw-a", "x_m": 2.0, "y_m": 2.0}, {"id": "gw-b", "x_m": 30.0, "y_m": 2.0}],
    "floor": {"area": [{"rect_m": [0.0, 0.0, 32.0, 4.0]}], "door": [{"at_m": [16.0, 0.0]}]},
}
"""A 32 m corridor, a zone at each end 28 m apart (beyond a scanner's 15 m reach), a door in the middle."""
CONFIG = from_mapping({**STORE, "presence": {"engine": "grid"}})


def estimator(config: Config = CONFIG) -> GridEstimator:
    return GridEstimator(config.zones, config.presence, config.scanners, config.floor)


def rssi_at(x: float, sx: float) -> int:
    """A clean reading of a -59 dBm advert |x - sx| from a scanner (the generic radio: exponent 2.2, the scanner
    0.8 m above the phone)."""
    return round(-59 - 22 * math.log10(math.hypot(x - sx, 0.8)))


def walk(
    est: GridEstimator, path: list[tuple[float, float]], token: str = "s-1", hz: float = 4.0
) -> list[PresenceEvent]:
    """(at, x) waypoints, linearly between them; both scanners hear each advert (gw-b only within 15 m)."""
    events: list[PresenceEvent] = []
    next_tick = path[0][0] + TICK_S
    at = path[0][0]
    while at <= path[-1][0]:
        k = max(i for i, (t, _) in enumerate(path) if t <= at)
        t0, x0 = path[k]
        t1, x1 = path[min(k + 1, len(path) - 1)]
        x = x0 if t1 == t0 else x0 + (x1 - x0) * (at - t0) / (t1 - t0)
        while next_tick <= at:
            events += est.tick(next_tick)
            next_tick += TICK_S
        for scanner, sx in (("gw-a", 2.0), ("gw-b", 30.0)):
            if abs(x - sx) < 14.0:
                events += est.observe(Sighting(token, "eddystone-eid", scanner, rssi_at(x, sx), -59.0, at))
        at += 1.0 / hz
    return events


def kinds(events: list[PresenceEvent]) -> list[tuple[str, str]]:
    return [(e.kind, e.zone) for e in events if e.kind != "dwell"]


def test_walks_from_a_to_b_and_out_with_the_posterior_on_its_events() -> None:
    est = estimator()
    events = walk(est, [(T0, 2.0), (T0 + 20, 2.0), (T0 + 41, 30.0), (T0 + 60, 30.0)])
    assert kinds(events) == [("entered", "a"), ("exited", "a"), ("entered", "b")]
    entered = [e for e in events if e.kind == "entered"]
    assert all(e.probability is not None and e.probability >= presence_grid.ENTER_LEAN_P for e in entered)
    assert all(e.via == "eddystone-eid" and e.distance_m > 0 for e in entered)
    assert est.zone_of("s-1") == "b"
    assert [o.zone for o in est.occupants()] == ["b"]
    assert est.occupants("a") == []
    # silence: the exit fires, by SILENCE_S at the latest, and the track is gone
    quiet = [e for k in range(1, 4 * 30) for e in est.tick(T0 + 60 + k * TICK_S)]
    assert kinds(quiet) == [("exited", "b")]
    assert quiet[-1].at - (T0 + 60) <= presence_grid.SILENCE_S + TICK_S
    assert est.zone_of("s-1") is None
    assert est.posterior("s-1") == {}


def test_silence_never_raises_the_zone_the_shopper_stands_in() -> None:
    est = estimator()
    walk(est, [(T0, 2.0), (T0 + 20, 2.0)])
    assert est.zone_of("s-1") == "a"
    held = est.posterior("s-1")["a"]
    for k in range(1, 4 * 40):
        events = est.tick(T0 + 20 + k * TICK_S)
        assert not [e for e in events if e.kind == "entered"], "silence enters no zone"
        now = est.posterior("s-1")
        if not now:
            break
        assert now["a"] <= held + 1e-9
        held = now["a"]
    assert est.zone_of("s-1") is None


def test_forget_purges_a_token_at_once() -> None:
    est = estimator()
    walk(est, [(T0, 2.0), (T0 + 10, 2.0)], token="s-1")
    walk(est, [(T0, 30.0), (T0 + 10, 30.0)], token="s-2")
    assert est.zone_of("s-1") == "a"
    est.forget("s-1")
    assert est.zone_of("s-1") is None
    assert est.posterior("s-1") == {}
    assert [o.token for o in est.occupants()] == ["s-2"]
    later = [e for k in range(1, 200) for e in est.tick(T0 + 10 + k * TICK_S)]
    assert all(e.token == "s-2" for e in later)  # no exit, nothing at all about the forgotten token
    # its slot is zeroed and reused: a new shopper starts from a clean prior
    walk(est, [(T0 + 70, 2.0), (T0 + 80, 2.0)], token="s-3")
    assert est.zone_of("s-3") == "a"


def test_many_shoppers_grow_the_stack_and_each_keeps_their_own_posterior() -> None:
    """Twenty shoppers, ten at each end, arriving one by one (the stacked arrays grow from 8 rows to 32 while
    they are tracked), then each walks to the other end: each is placed in their own zones, and silence ends
    every visit."""
    est = estimator()
    tokens = [f"s-{k}" for k in range(20)]

    def x_of(k: int, at: float) -> float:
        start, end = (2.0, 30.0) if k % 2 == 0 else (30.0, 2.0)
        return start + (end - start) * min(1.0, max(0.0, (at - T0 - 30.0) / 21.0))

    at = T0
    for step in range(4 * 70):
        at = T0 + step / 4
        for k, token in enumerate(tokens[: 1 + step // 4]):
            x = x_of(k, at)
            for scanner, sx in (("gw-a", 2.0), ("gw-b", 30.0)):
                if abs(x - sx) < 14.0:
                    est.observe(Sighting(token, "ibeacon", scanner, rssi_at(x, sx), None, at))
        est.tick(at)
        if step == 4 * 25:
            assert [est.zone_of(token) for token in tokens] == ["a", "b"] * 10
    assert [est.zone_of(token) for token in tokens] == ["b", "a"] * 10
    assert len(est.occupants("a")) == len(est.occupants("b")) == 10
    events = [e for k in range(1, 4 * 30) for e in est.tick(at + k * TICK_S)]
    assert sorted(e.token for e in events if e.kind == "exited") == sorted(tokens)
    assert est.occupants() == []


def test_the_same_filter_as_the_prototype_on_a_sweep_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """The 4 m aisle tiles, 2 minutes, 6 shoppers: the engine and the pure-Python prototype it was ported from
    enter and leave the same zones (within a tick or two: the windows drop what the prototype prunes) -- with the
    prototype's decisions (ENTER_P and STAY_P alone: the lean of session 15 off; entering at the prototype's 0.75, no
    hold after an entry: session 46), its one walking layer that only spreads (no headings: session 46) and every
    device as loud as it declares (the prototype learns no device offset: edge.presence_grid_devices)."""
    monkeypatch.setattr(presence_grid, "ENTER_LEAN_P", 1.0)
    monkeypatch.setattr(presence_grid, "ENTER_P", SPARSE_ENTER_P)
    monkeypatch.setattr(presence_grid, "HOLD_S", 0.0)
    monkeypatch.setattr(presence_grid_windows, "HEADINGS", 1)
    monkeypatch.setattr(presence_grid, "LEARN_DEVICES", False)
    monkeypatch.setattr(presence_grid, "CONFIRM_LEAVE", False)
    cell = CELLS[2]
    config = cell.layout.config()
    run = simulate(cell, 1, minutes=2.0, shoppers=6)
    changes: dict[str, list[list[tuple[str, str, float]]]] = {}
    for name, engine in (("grid", estimator(config)), ("prototype", SparseGrid(config))):
        seen: list[tuple[str, str, float]] = []
        next_tick = run.start + TICK_S
        for s in run.sightings:
            while next_tick <= s.at:
                seen += [(e.token, e.kind, e.at) for e in engine.tick(next_tick) if e.kind != "dwell"]
                next_tick += TICK_S
            engine.observe(s)
        changes[name] = [seen]
    grid, proto = changes["grid"][0], changes["prototype"][0]
    assert len(grid) >= 10
    assert [(t, k) for t, k, _ in grid] == [(t, k) for t, k, _ in proto]
    assert max(abs(a - b) for (_, _, a), (_, _, b) in zip(grid, proto, strict=True)) <= 2 * TICK_S


@pytest.mark.parametrize("index", [0, 6])
def test_over_each_scanners_reach_the_same_as_over_the_box(index: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A large store keeps its likelihoods over each scanner's reach (``NEAR``): forced on a small one, the zone
    changes are those of the arrays over the whole box (today's store and the L-shape, 2 minutes, 6 shoppers)."""
    cell = CELLS[index]
    config = cell.layout.config()
    run = simulate(cell, 1, minutes=2.0, shoppers=6)
    seen: dict[bool, list[tuple[str, str, str, float]]] = {}
    for near in (False, True):
        monkeypatch.setattr(presence_grid_evidence, "NEAR", near)
        engine = estimator(config)
        assert engine._evidence.near is near
        changes: list[tuple[str, str, str, float]] = []
        next_tick = run.start + TICK_S
        for s in run.sightings:
            while next_tick <= s.at:
                changes += [(e.token, e.kind, e.zone, e.at) for e in engine.tick(next_tick) if e.kind != "dwell"]
                next_tick += TICK_S
            engine.observe(s)
        seen[near] = changes
    assert len(seen[False]) >= 6
    assert [c[:3] for c in seen[True]] == [c[:3] for c in seen[False]]
    assert max(abs(a[3] - b[3]) for a, b in zip(seen[True], seen[False], strict=True)) <= TICK_S


# --- properties ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class See:
    token: str
    scanner: str
    rssi: int
    gap_s: float


@dataclass(frozen=True)
class Tick:
    gap_s: float


TOKENS = ("s-1", "s-2")
steps = st.lists(
    st.one_of(
        st.builds(
            See,
            st.sampled_from(TOKENS),
            st.sampled_from(["gw-a", "gw-b", "gw-9"]),
            st.integers(-100, -35),
            st.floats(0.0, 3.0),
        ),
        st.builds(Tick, st.floats(0.0, 6.0)),
    ),
    max_size=120,
)

SHARED = estimator()
"""Built once (the grid's tables): each example forgets its tokens at the end."""


@settings(max_examples=40, deadline=None)
@given(steps)
def test_properties_whatever_the_sightings(script: list[See | Tick]) -> None:
    est = estimator()
    now = T0
    zone: dict[str, str | None] = dict.fromkeys(TOKENS)
    for step in script:
        now += step.gap_s
        if isinstance(step, See):
            events = est.observe(Sighting(step.token, "ibeacon", step.scanner, step.rssi, None, now))
        else:
            events = est.tick(now)
        for event in events:
            assert event.token in TOKENS
            if event.kind == "entered":
                assert zone[event.token] is None, "one zone at a time"
                zone[event.token] = event.zone
            elif event.kind == "exited":
                assert zone[event.token] == event.zone
                zone[event.token] = None
        for token in TOKENS:
            assert est.zone_of(token) == zone[token]
            posterior = est.posterior(token)
            if posterior:
                assert sum(posterior.values()) == pytest.approx(1.0)
                assert all(-1e-12 <= v <= 1.0 + 1e-12 for v in posterior.values())
    # silence always ends in an exit, and nothing about the never-sighted
    final = est.tick(now + 600.0) + est.tick(now + 1200.0)
    assert all(e.token in TOKENS and e.kind == "exited" for e in final)
    assert est.occupants() == []
    assert est.posterior("s-never") == {}


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(-100, -30), st.floats(0.0, 3.0)), max_size=100))
def test_heard_only_by_zone_a_never_enters_zone_b(samples: list[tuple[int, float]]) -> None:
    est = SHARED
    now = T0
    try:
        for rssi, gap in samples:
            now += gap
            events = est.observe(Sighting("s-1", "ibeacon", "gw-a", rssi, None, now)) + est.tick(now)
            assert all(e.zone == "a" for e in events)
    finally:
        est.forget("s-1")


# --- the config's rule and the pipeline ---------------------------------------------------------------


def test_the_grid_engine_needs_a_floor_plan(tmp_path: Path) -> None:
    path = tmp_path / "edge.toml"
    path.write_text(
        '[presence]\nengine = "grid"\n\n[[zones]]\nid = "a"\nscanners = ["gw-a"]\n\n'
        '[[scanners]]\nid = "gw-a"\nx_m = 1.0\ny_m = 1.0\n'
    )
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert f"{path}: presence.engine" in str(caught.value)
    assert "[[floor.area]]" in str(caught.value)
    path.write_text(
        '[presence]\nengine = "grid"\n\n[[zones]]\nid = "a"\nscanners = ["gw-x"]\n\n'
        "[[floor.area]]\nrect_m = [0.0, 0.0, 9.0, 4.0]\n"
    )
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert f"{path}: zones[0].area_m" in str(caught.value)
    with pytest.raises(GridEngineError, match="floor plan"):  # built in code without the config's rule
        GridEstimator(CONFIG.zones, CONFIG.presence, CONFIG.scanners, from_mapping({}).floor)


def test_engine_grid_runs_the_pipeline() -> None:
    """`[presence] engine = "grid"` behind the real resolver: a rostered card at gw-a enters zone a (with its
    posterior), and nothing about an unrostered device."""
    import asyncio
    import random
    import tempfile
    import uuid

    from edge import app
    from edge.beacons.advert import APPLE_COMPANY_ID, Advertisement
    from edge.beacons.build import ibeacon_payload
    from edge.beacons.replay import ItemsSource
    from edge.core import Core
    from edge.events import EventFactory
    from edge.inputs import Downlink, Item
    from tests.helpers import START, card_advert, roster_bytes

    assert type(Core(CONFIG, EventFactory("store-1", "gw-1", random.Random(1))).engine) is GridEstimator
    items: list[Item] = [Downlink(START, "cdp/v1/store-1/roster", roster_bytes())]
    for step in range(60):
        at = START + 0.5 + step * 0.5
        items.append(card_advert(at, rssi_at(2.0, 2.0), "gw-a"))
        stranger = ibeacon_payload(uuid.UUID(int=step + 1), 1, 2, -59)
        items.append(
            Advertisement(at, "gw-a", "AA:BB:CC:00:00:01", -55, manufacturer_data={APPLE_COMPANY_ID: stranger})
        )
    out: list[object] = []
    with tempfile.TemporaryDirectory() as state:
        source = ItemsSource(iter(items), start=START, speed=None)
        asyncio.run(app.run(CONFIG, source, sinks=[out.append], fast=True, state_dir=Path(state)))
    presence = [e for e in out if getattr(e, "type", "").startswith("edge.presence.")]
    entered = [e for e in presence if getattr(e, "type", "") == "edge.presence.entered"]
    assert entered
    assert entered[0].data["zone"] == "a"
    assert entered[0].data["probability"] >= presence_grid.ENTER_P  # type: ignore[attr-defined]
    tokens = {getattr(e, "data", {}).get("token") for e in out} - {None}
    assert tokens <= {"s-card"}
