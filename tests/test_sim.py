"""The simulated store: deterministic by seed, time-ordered, a valid roster, sane ground truth,
anonymous phones that resolve to nobody, and traces that read back."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import msgspec
import pytest

from edge.beacons.advert import APPLE_COMPANY_ID, EDDYSTONE_UUID, Advertisement
from edge.config import from_mapping
from edge.identity import Resolver
from edge.inputs import Downlink, Item, ShelfReading
from edge.roster import parse_roster
from edge.sim import opening
from edge.sim import plan as floor
from edge.sim.store import DEFAULT_START, WITHDRAW_AT_S, SimulatedStore, default_config
from edge.trace import TraceReader, item_line

SECONDS = 120.0


def first(store: SimulatedStore, seconds: float = SECONDS) -> list[Item]:
    end = store.start + seconds
    return list(itertools.takewhile(lambda item: item.at <= end, store.items()))


@pytest.fixture(scope="module")
def store() -> SimulatedStore:
    return SimulatedStore(seed=7, shoppers=8)


@pytest.fixture(scope="module")
def items(store: SimulatedStore) -> list[Item]:
    return first(store)


def test_the_same_seed_gives_the_same_items_and_another_seed_others() -> None:
    a = [item_line(i, DEFAULT_START) for i in first(SimulatedStore(seed=3, shoppers=4), 40)]
    b = [item_line(i, DEFAULT_START) for i in first(SimulatedStore(seed=3, shoppers=4), 40)]
    c = [item_line(i, DEFAULT_START) for i in first(SimulatedStore(seed=4, shoppers=4), 40)]
    assert a == b
    assert a != c


def test_items_are_in_time_order_and_start_with_the_roster(store: SimulatedStore, items: list[Item]) -> None:
    assert all(x.at <= y.at for x, y in itertools.pairwise(items))
    roster = items[0]
    assert isinstance(roster, Downlink)
    assert roster.topic == "cdp/v1/store-1/roster"
    assert roster.at == store.start
    assert sum(isinstance(i, Advertisement) for i in items) > 1000
    assert any(isinstance(i, ShelfReading) for i in first(store, 900))


def test_the_roster_is_the_documented_json_and_parses(store: SimulatedStore) -> None:
    raw = json.loads(store.roster_payload())
    assert set(raw) == {"version", "issued_at", "expires_at", "shoppers"}
    assert raw["issued_at"] == "2026-11-23T10:00:00.000Z"
    assert raw["expires_at"] == "2026-11-24T10:00:00.000Z"
    kinds = {entry["ids"][0]["type"] for entry in raw["shoppers"]}
    assert kinds == {"eddystone-eid", "ibeacon"}
    for entry in raw["shoppers"]:
        assert {"token", "scopes", "ids", "segments", "recent_purchases", "prefs"} <= set(entry)
        assert "presence" in entry["scopes"]
        ident = entry["ids"][0]
        if ident["type"] == "eddystone-eid":
            assert len(bytes.fromhex(ident["tk"])) == 16
            assert ident["k"] == 10
            assert isinstance(ident["t0"], int)
        else:
            assert {"uuid", "major", "minor"} <= set(ident)
    roster = parse_roster(store.roster_payload())
    assert [s.token for s in roster.shoppers] == [s.token for s in store.shoppers]
    assert roster.expires_at - roster.issued_at == 86_400


def test_one_rostered_shopper_withdraws_after_about_90_s(store: SimulatedStore) -> None:
    withdrawals = [
        i for i in first(store, 100) if isinstance(i, Downlink) and i.topic == "cdp/v1/store-1/consent/withdraw"
    ]
    assert len(withdrawals) == 1
    assert withdrawals[0].at == store.start + WITHDRAW_AT_S
    token = json.loads(withdrawals[0].payload)["token"]
    assert token == store.withdrawn_token
    assert store.truth(token, store.withdraw_at) is not None or store.truth(token, store.withdraw_at - 30) is not None


def test_ground_truth_is_sane(store: SimulatedStore) -> None:
    zone_ids = {zone.id for zone in store.plan.zones}
    seen: set[str | None] = set()
    end = store.start + 1800
    for shopper in store.shoppers:
        trips = store.trips(shopper.token, end)
        assert trips, "every rostered shopper shops within the first half hour"
        assert store.truth(shopper.token, trips[0].start - 1) is None
        for zone, entered, left in store.visits(shopper.token, end):
            assert zone in zone_ids
            assert left > entered
            assert store.truth(shopper.token, (entered + left) / 2) == zone
            assert store.truth(shopper.token, left + 0.5) != zone or left + 0.5 >= end
        for t in range(0, 1800, 7):
            truth = store.truth(shopper.token, store.start + t)
            assert truth is None or truth in zone_ids
            seen.add(truth)
    assert seen >= {None, "entrance", "checkout"}
    with pytest.raises(KeyError):
        store.truth("s-nobody", store.start)


def test_anonymous_phones_resolve_to_nobody(store: SimulatedStore, items: list[Item]) -> None:
    resolver = Resolver(parse_roster(store.roster_payload()))
    tokens = {s.token for s in store.shoppers}
    resolved = anonymous = 0
    for item in items:
        if not isinstance(item, Advertisement):
            continue
        found = resolver.resolve(item, item.at)
        ibeacon = item.manufacturer_data.get(APPLE_COMPANY_ID, b"")[:2] == b"\x02\x15"
        if EDDYSTONE_UUID in item.service_data or ibeacon:
            assert found is not None
            assert found.token in tokens
            resolved += 1
        else:
            assert found is None
            anonymous += 1
    assert resolved > 100
    assert anonymous > 100
    assert len(store.anonymous) >= 3 * len(store.shoppers), "several times more people did not opt in"


def test_the_default_config_matches_the_floor_plan() -> None:
    config = default_config()
    assert (config.gateway.store, config.gateway.gateway) == ("store-1", "gw-1")
    assert [z.id for z in config.zones] == [z.id for z in floor.DEFAULT_PLAN.zones]
    assert "alcohol" in next(z for z in config.zones if z.id == "drinks").tags
    scanners = {s for z in config.zones for s in z.scanners}
    assert scanners == {s for s, _ in floor.DEFAULT_PLAN.scanners}
    assert config.screens
    assert config.shelves
    assert from_mapping(msgspec.to_builtins(config)) == config


def test_write_trace_reads_back(tmp_path: Path) -> None:
    sim = SimulatedStore(seed=1, shoppers=3)
    path = tmp_path / "store.jsonl"
    count = sim.write_trace(path, 20)
    with path.open("rb") as handle:
        reader = TraceReader(iter(handle), path=str(path))
        assert reader.read_header() == sim.start
        assert sum(1 for _ in reader) == count > 0


def test_the_scripted_opening_is_deterministic_and_casts_three_shoppers() -> None:
    a = [item_line(i, DEFAULT_START) for i in first(SimulatedStore(seed=3, opening=True), 30)]
    b = [item_line(i, DEFAULT_START) for i in first(SimulatedStore(seed=3, opening=True), 30)]
    assert a == b
    store = SimulatedStore(seed=3, opening=True)
    roster = {entry["token"]: entry for entry in json.loads(store.roster_payload())["shoppers"]}
    ada, ben, cem = (roster[s.token] for s in store.shoppers[: opening.SCRIPTED])
    assert {"personalization", "shelf"} <= set(ada["scopes"])
    assert ben["scopes"] == ["presence"]
    assert not opening.held_out(ada["token"])
    assert store.withdrawn_token == cem["token"]
    assert store.withdraw_at == store.start + opening.WITHDRAW_AT_S
    assert store.truth(cem["token"], store.withdraw_at) == "entrance"
    assert store.truth(ada["token"], store.start + opening.ADA_PICKUP_S) == "baby"
    for shopper in store.shoppers[opening.SCRIPTED :]:
        assert store.trips(shopper.token, store.start + 3600)[0].start >= store.start + opening.OPENING_S


def test_the_opening_leaves_the_default_store_alone() -> None:
    plain = SimulatedStore(seed=3, shoppers=4)
    assert plain.withdraw_at == plain.start + WITHDRAW_AT_S
    assert plain.withdrawn_token == plain.shoppers[0].token
    with pytest.raises(ValueError, match="scripted opening"):
        SimulatedStore(seed=3, shoppers=2, opening=True)
