"""The simulated row of gateways (edge/sim/multi.py, issue 18): the walks through the doors, and the
oracle and judge of benchmarks/multi_gateway.py on them -- pure and fast, no processes."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import pytest

from benchmarks import multi_gateway as bench
from edge.config import load
from edge.sim import engines, multi
from edge.sim.multi import MultiStore, Walk
from edge.sim.sweep.judge import settle
from edge.sim.sweep.layouts import PHONE_HEIGHT_M

SPACING_M = 7.0
SECONDS = 180.0


def door_store(seed: int = 3) -> tuple[MultiStore, list[Walk]]:
    store = MultiStore(gateways=3, seed=seed, start=1_800_000_000.0, spacing_m=SPACING_M)
    return store, store.door_walks(8, 40.0)


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_a_door_walk_starts_outside_one_door_and_ends_outside_the_other(seed: int) -> None:
    store, walks = door_store(seed)
    low, high = store.building()
    assert (low, high) == (-multi.DOOR_M, 2 * SPACING_M + multi.DOOR_M)
    assert {w.stops for w in walks} <= {(0, 1, 2), (2, 1, 0)}
    for walk in walks:
        assert walk.enter_x is not None
        assert walk.leave_x is not None
        assert store.outside(walk.enter_x)
        assert store.outside(walk.leave_x)
        assert (walk.enter_x < low) == (walk.leave_x > high)  # in at one end, out at the other
        assert all(multi.DOOR_DWELL_S[0] <= d <= multi.DOOR_DWELL_S[1] for d in walk.dwells)
        came, left = store.inside(walk)
        assert walk.start < came < left < store.leaves(walk)
        entry = store.position(walk, came)
        exit_ = store.position(walk, left)
        assert entry is not None
        assert exit_ is not None
        assert min(abs(entry - low), abs(entry - high)) < 1e-6  # at a door
        assert min(abs(exit_ - low), abs(exit_ - high)) < 1e-6
        assert store.position(walk, walk.start) == walk.enter_x
        assert store.position(walk, store.leaves(walk) + 0.1) is None


@pytest.mark.parametrize("seed", [3, 4])
def test_a_door_walks_truth_is_every_zone_once_in_order_inside_the_store(seed: int) -> None:
    store, walks = door_store(seed)
    for walk in walks:
        visits = store.visits(walk)
        kept, transits = settle(visits)
        assert transits == []
        assert [zone for zone, _, _ in kept] == [f"z{s + 1}" for s in walk.stops]
        came, left = store.inside(walk)
        assert came < kept[0][1]
        assert kept[-1][2] < left
        for (zone, a, b), dwell in zip(kept, walk.dwells, strict=True):
            assert b - a >= dwell  # stood there, plus walking across its edge
            x = store.position(walk, (a + b) / 2)
            assert x is not None
            assert store.truth(walk, (a + b) / 2) == zone
            assert abs(x - store.zone_x(int(zone[1:]) - 1)) <= multi.ZONE_RADIUS_M
        assert store.truth(walk, walk.start) is None  # outside
        assert store.truth(walk, came) is None  # at the door, in no zone


def test_the_front_wall_takes_its_loss_off_what_is_heard_from_outside() -> None:
    store, walks = door_store(3)
    outside: list[float] = []
    inside: list[float] = []
    for advert in store.adverts(walks, 0, SECONDS):
        walk = walks[int(advert.address.replace(":", "")[-4:], 16)]
        x = store.position(walk, advert.at)
        assert x is not None
        d = math.hypot(x - store.zone_x(0), multi.SCANNER_HEIGHT_M)
        residual = advert.rssi - (multi.POWER_1M_DBM - 10 * multi.PATH_LOSS_EXPONENT * math.log10(d))
        (outside if store.outside(x) else inside).append(residual)
    assert len(outside) > 20
    # heard from outside only when the noise lifts it over the hearing floor: within the wall's loss
    assert -multi.WALL_LOSS_DB - 3.0 < statistics.mean(outside) < -multi.WALL_LOSS_DB + 5.0
    assert abs(statistics.mean(inside)) < 0.5


def test_row_walks_are_in_the_store_from_appearing_to_vanishing() -> None:
    store = MultiStore(gateways=3, seed=3, start=1_800_000_000.0, spacing_m=SPACING_M)
    for walk in store.walks(8, 45.0, dwell_s=20.0):
        assert store.inside(walk) == (walk.start, store.leaves(walk))
        assert store.truth(walk, walk.start) == f"z{int(walk.stops[0]) + 1}"


def test_the_oracles_row_is_the_simulators() -> None:
    store = MultiStore(gateways=3, seed=3, spacing_m=SPACING_M)
    layout = engines.row_layout(store)
    radio = engines.row_radio()
    assert [(s.x, s.height_m - PHONE_HEIGHT_M) for s in layout.scanners] == [
        (0.0, multi.SCANNER_HEIGHT_M),
        (7.0, multi.SCANNER_HEIGHT_M),
        (14.0, multi.SCANNER_HEIGHT_M),
    ]
    assert layout.inside(-multi.DOOR_M, 0.0)
    assert not layout.inside(-multi.DOOR_M - 0.5, 0.0)
    assert (radio.exponent, radio.sigma_db, radio.miss) == (multi.PATH_LOSS_EXPONENT, multi.NOISE_DB, multi.LOSS)


def test_the_truth_itself_is_judged_all_right_and_the_oracle_follows_every_walk() -> None:
    store, walks = door_store(4)
    run = {"seed": 4, "start": store.start, "seconds": SECONDS, "shoppers": 8, "walks": "doors", "reference": True}
    walks = bench._walks(store, 8, SECONDS, "doors")
    end = store.start + SECONDS
    rows: dict[str, list[bench.Row]] = {}
    for walk in walks:
        for zone, a, b in settle([v for v in store.visits(walk) if v[1] < end])[0]:
            rows.setdefault(walk.token, []).append((a, "entered", zone, None))
            rows[walk.token].append((b, "exited", zone, None))
    perfect = bench.judge_rows(run, rows, by_gateway=False)
    assert perfect["right_zone_pct"] == 100.0
    assert perfect["spurious_visits"] == 0
    assert perfect["handoffs_judged"] > 8
    assert all(h == 0.0 for h in perfect["handoffs_s"])
    assert perfect["finished"] >= 4
    oracle = bench.judge_oracle(run)
    assert oracle["missed_visits"] == 0
    assert oracle["handoffs_missed"] == 0
    assert 85.0 < oracle["right_zone_pct"] < 100.0


@pytest.mark.parametrize("engine", ["model", "grid"])
def test_a_layout_engines_gateway_config_carries_the_rows_true_layout(engine: str, tmp_path: Path) -> None:
    store = MultiStore(gateways=3, seed=3, spacing_m=SPACING_M, engine=engine)
    path = tmp_path / "gw-2.toml"
    path.write_text(multi.toml_text(store.config(1, mqtt={"url": "mqtt://127.0.0.1:1883"})))
    config = load(path, trace_given=True)  # as `edge run --config` reads it
    assert config.presence.engine == engine
    assert [(s.id, s.x_m, s.y_m, s.height_m) for s in config.scanners] == [
        (f"gw-{g + 1}-s", store.zone_x(g), 0.0, multi.SCANNER_HEIGHT_M + multi.PHONE_HEIGHT_M) for g in range(3)
    ]
    low, high = store.building()
    assert config.floor.walkable(low, 0.0)
    assert config.floor.walkable(high, multi.AISLE_HALF_WIDTH_M)
    assert not config.floor.walkable(0.0, multi.AISLE_HALF_WIDTH_M + 0.5)
    assert config.floor.door_distance(low, 0.0) == 0.0
    assert config.floor.door_distance(high, 0.0) == 0.0
    assert config.floor.door_distance(store.zone_x(1), 0.0) > 5.0


def test_the_default_engine_is_the_threshold_one_and_its_config_is_unchanged() -> None:
    store = MultiStore(gateways=3, seed=3, spacing_m=SPACING_M)
    assert store.engine == "threshold"
    assert set(store.config(0)) == {"gateway", "zones", "screens", "store"}
    with pytest.raises(ValueError, match="engine"):
        MultiStore(engine="nearest")


@pytest.mark.parametrize("engine", ["threshold", "grid"])
def test_the_offline_reference_follows_every_row_walk_with_each_engine(engine: str) -> None:
    store = MultiStore(gateways=3, seed=3, start=1_800_000_000.0, spacing_m=SPACING_M)
    run = {"seed": 3, "start": store.start, "seconds": 90.0, "shoppers": 8, "walks": "row", "reference": True}
    judged = bench.judge_offline(run, engine)
    assert judged["engine"] == engine
    assert judged["missed_visits"] == 0
    assert judged["handoffs_missed"] == 0
    assert judged["right_zone_pct"] > 75.0


def test_the_benchmark_reports_each_gateways_last_word_on_its_peers_clocks() -> None:
    """``peers_clocks``: per gateway its last health event's ``peers_clock_offset_ms`` and ``peers_clock_warnings``
    (edge/peers/clocks.py); other events, and health events of a gateway without the keys, are left out."""

    def health(offset: int, warnings: int) -> dict[str, object]:
        return {
            "type": "edge.gateway.health",
            "data": {"peers_clock_offset_ms": offset, "peers_clock_warnings": warnings},
        }

    events = [
        ("gw-1", health(-1, 0), 1.0),
        ("gw-2", {"type": "edge.gateway.health", "data": {"uptime_s": 3}}, 1.1),
        ("gw-1", {"type": "edge.presence.entered", "data": {"token": "t", "zone": "z1"}}, 1.2),
        ("gw-1", health(4, 0), 61.0),
        ("gw-3", health(1200, 1), 61.5),
    ]
    assert bench.peers_clocks(events) == {
        "peers_clock_offset_ms": {"gw-1": 4, "gw-3": 1200},
        "peers_clock_warnings": {"gw-1": 0, "gw-3": 1},
        "peers_clock_correction_ms": {},  # (health events before session 29 do not say it)
    }
    assert bench.peers_clocks([]) == {
        "peers_clock_offset_ms": {},
        "peers_clock_warnings": {},
        "peers_clock_correction_ms": {},
    }


def test_a_box_whose_clock_is_off_hears_the_store_at_the_same_moments(tmp_path: Path) -> None:
    """``--skew`` (session 29): gateway g's trace starts ``g x skew`` earlier on its clock, its items at the same
    offsets from that start (a replay from one ``ble.start_at`` plays them at the same wall moments), and the
    judge puts each gateway's event stamps back on the store's clock."""
    import json

    from edge.timefmt import format_time, parse_start

    store = MultiStore(gateways=3, seed=3, start=1_800_000_000.0)
    walks = [Walk(0, store.start + 1.0, (1,), 5.0)]
    lines = {}
    for g, off in ((0, 0.0), (2, -8.0)):
        path = tmp_path / f"gw-{g + 1}.jsonl"
        store.write_trace(path, walks, 1, 10.0, off)  # both hear z2's scanner (gateway 1's): the same adverts
        lines[g] = path.read_text().splitlines()
    assert parse_start(json.loads(lines[2][0])["start"]) == store.start - 8.0
    assert lines[0][1:] == lines[2][1:]  # every item at the same offset from its trace's start
    event = {"type": "edge.presence.entered", "time": format_time(store.start + 3.0), "data": {}}
    events = [("gw-1", event, 0.0), ("gw-3", {**event, "time": format_time(store.start - 5.0)}, 0.0)]
    fixed = bench.on_store_clock(events, 4.0)
    assert [parse_start(e["time"]) for _, e, _ in fixed] == [store.start + 3.0, store.start + 3.0]
    assert bench.on_store_clock(events, 0.0) is events
