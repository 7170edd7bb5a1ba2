"""The decision engine: properties over random catalogues, rules, shoppers and arrivals, and the
behaviours a store relies on (fail closed, stickiness, holdout, payload contract)."""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.errors import DownlinkError
from edge.presence import Occupant
from edge.roster import Prefs, Roster, Shopper
from edge.signage.caps import DAY_S, HOUR_S, CapLedger
from edge.signage.decide import Inputs, Play, ScreenDecider, Timing
from edge.signage.offers import SCHEMA_DIR, json_schemas, parse_offers, parse_rules
from edge.signage.rank import Place, choose_offer, in_holdout
from edge.sim.catalogue import rules_payload
from edge.sim.store import SimulatedStore
from tests.helpers import START

CATEGORIES = ["alcohol", "baby", "food", "tobacco", "coffee"]
TAGS = ["baby", "families", "alcohol", "checkout", "fresh"]
SKUS = [f"sku-{i}" for i in range(8)]
SEGMENTS = ["families", "vegan", "wine-lovers"]
TOKENS = [f"s-{i}" for i in range(5)]
BABY = Place("screen-1", "baby", frozenset({"baby", "families"}))


def offer_dict(i: int, category: str, **fields: Any) -> dict[str, Any]:
    return {"id": f"o-{i}", "campaign": f"c-{i % 3}", "headline": {"en": f"Offer {i}"}, "category": category, **fields}


def catalogue_bytes(offers: list[dict[str, Any]], playlist: bool = True) -> bytes:
    items = [{"id": "g-1", "headline": {"en": "Hello"}, "duration_s": 5.0}] if playlist else []
    return json.dumps({"version": 1, "issued_at": "2026-11-23T09:00:00Z", "offers": offers, "playlist": items}).encode()


def rules_bytes(
    exclusions: list[tuple[str, list[str]]], per_day: int = 3, per_hour: int = 30, holdout: float = 0.0
) -> bytes:
    return json.dumps(
        {
            "version": 1,
            "issued_at": "2026-11-23T09:00:00Z",
            "exclusions": [{"category": cat, "zone_tags": tags} for cat, tags in exclusions],
            "caps": {"shopper_offer_per_day": per_day, "screen_offer_per_hour": per_hour},
            "holdout": {"share": holdout},
        }
    ).encode()


def roster(shoppers: list[Shopper], expires: float = START + DAY_S) -> Roster:
    return Roster(1, START - 60, expires, tuple(shoppers))


def shopper(token: str, *, scopes: tuple[str, ...] = ("presence", "personalization"), **kw: Any) -> Shopper:
    return Shopper(token, frozenset(scopes), (), **kw)


def here(token: str, at: float = START, distance_m: float = 1.0, zone: str = "baby") -> Occupant:
    return Occupant(token, zone, at, -60.0, distance_m, "ibeacon")


# --- properties -----------------------------------------------------------------------------------

offer_st = st.builds(
    lambda i, cat, skus, segs, toks, prio: offer_dict(
        i, cat, skus=skus, priority=prio, target={"segments": segs, "tokens": toks}
    ),
    st.integers(0, 10_000),
    st.sampled_from(CATEGORIES),
    st.lists(st.sampled_from(SKUS), max_size=3, unique=True),
    st.lists(st.sampled_from(SEGMENTS), max_size=2, unique=True),
    st.lists(st.sampled_from(TOKENS), max_size=2, unique=True),
    st.integers(0, 100),
)
shopper_st = st.builds(
    lambda token, personal, segs, bought: shopper(
        token,
        scopes=("presence", "personalization") if personal else ("presence",),
        segments=tuple(segs),
        recent_purchases=tuple(bought),
    ),
    st.sampled_from(TOKENS),
    st.booleans(),
    st.lists(st.sampled_from(SEGMENTS), max_size=2, unique=True),
    st.lists(st.sampled_from(SKUS), max_size=3, unique=True),
)
scenario = st.fixed_dictionaries(
    {
        "offers": st.lists(offer_st, max_size=25, unique_by=lambda o: o["id"]),
        "exclusions": st.lists(
            st.tuples(st.sampled_from(CATEGORIES), st.lists(st.sampled_from(TAGS), min_size=1, max_size=2)), max_size=3
        ),
        "tags": st.lists(st.sampled_from(TAGS), max_size=3, unique=True),
        "shoppers": st.lists(shopper_st, min_size=1, max_size=5, unique_by=lambda s: s.token),
        "per_day": st.integers(0, 3),
        "per_hour": st.integers(0, 5),
        "holdout": st.sampled_from([0.0, 0.3]),
        "steps": st.lists(
            st.tuples(st.floats(0.1, 4000.0), st.lists(st.sampled_from(TOKENS), max_size=4, unique=True)),
            min_size=1,
            max_size=40,
        ),
    }
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario)
def test_excluded_never_chosen_caps_never_exceeded_no_scope_is_generic(case: dict[str, Any]) -> None:
    catalogue = parse_offers(catalogue_bytes(case["offers"]))
    rules = parse_rules(rules_bytes(case["exclusions"], case["per_day"], case["per_hour"], case["holdout"]))
    place = Place("screen-1", "baby", frozenset(case["tags"]))
    people = roster(case["shoppers"])
    decider = ScreenDecider(place, CapLedger(), Timing(play_s=10.0, min_display_s=4.0))
    banned = rules.excluded_categories(place.tags)
    plays: list[Play] = []
    now = START
    for gap, present in case["steps"]:
        now += gap
        occupants = [here(t, now - 5.0, 1.0 + i) for i, t in enumerate(present) if people.get(t) is not None]
        play = decider.step(Inputs(now, people, occupants, catalogue, rules))
        if play is None:
            continue
        plays.append(play)
        viewer = people.get(play.token) if play.token else None
        if play.offer is not None:
            assert viewer is not None
            assert viewer.has("personalization")
            assert play.offer.category not in banned, "a rule-excluded category was chosen"
            assert play.offer.skus.isdisjoint(viewer.recent_purchases), "an offer for a SKU just bought"
            assert play.token in present
        if play.token is not None:
            assert viewer is not None
            assert viewer.has("personalization")
        if not any(people.get(t) and people.get(t).has("personalization") for t in present):  # type: ignore[union-attr]
            assert play.offer is None, "no personalisation scope near: generic only"
            assert play.token is None, "no personalisation scope near: generic only"
    shown = [(p.token, p.offer.id if p.offer else p.withheld, p.at) for p in plays if p.token is not None]
    for token, offer, at in shown:
        day = [x for x in shown if x[0] == token and x[1] == offer and at - DAY_S < x[2] <= at]
        hour = [x for x in shown if x[1] == offer and at - HOUR_S < x[2] <= at]
        assert len(day) <= rules.cap_shopper_offer_per_day
        assert len(hour) <= rules.cap_screen_offer_per_hour


@settings(max_examples=100, deadline=None)
@given(st.lists(offer_st, min_size=1, max_size=30, unique_by=lambda o: o["id"]), shopper_st)
def test_choose_offer_never_returns_an_excluded_offer(offers: list[dict[str, Any]], viewer: Shopper) -> None:
    catalogue = parse_offers(catalogue_bytes(offers))
    rules = parse_rules(rules_bytes([("alcohol", ["baby"]), ("tobacco", ["families"])]))
    choice = choose_offer(catalogue, rules, viewer, BABY, START, CapLedger())
    if choice.offer is not None:
        assert choice.offer.category not in {"alcohol", "tobacco"}
        assert choice.offer.skus.isdisjoint(viewer.recent_purchases)


# --- behaviours -----------------------------------------------------------------------------------


@pytest.fixture
def simple() -> tuple[Any, Any]:
    offers = [
        offer_dict(1, "alcohol", priority=100),
        offer_dict(2, "baby", priority=50, skus=["sku-1"]),
        offer_dict(3, "food", priority=40),
    ]
    return parse_offers(catalogue_bytes(offers)), parse_rules(rules_bytes([("alcohol", ["baby"])]))


def test_alcohol_never_in_the_baby_zone_but_elsewhere(simple: tuple[Any, Any]) -> None:
    catalogue, rules = simple
    viewer = shopper("s-0")
    assert choose_offer(catalogue, rules, viewer, BABY, START, CapLedger()).offer.id == "o-2"  # type: ignore[union-attr]
    drinks = Place("screen-2", "drinks", frozenset({"drinks"}))
    assert choose_offer(catalogue, rules, viewer, drinks, START, CapLedger()).offer.id == "o-1"  # type: ignore[union-attr]
    bought = shopper("s-0", recent_purchases=("sku-1",))
    choice = choose_offer(catalogue, rules, bought, BABY, START, CapLedger())
    assert choice.offer is not None
    assert choice.offer.id == "o-3"
    assert choice.excluded == 2


def test_fail_closed_roster_expired_no_scope_no_rules(simple: tuple[Any, Any]) -> None:
    catalogue, rules = simple
    people = [shopper("s-0")]
    cases = [
        (Inputs(START, roster(people, expires=START - 1), [here("s-0")], catalogue, rules), "generic:roster-expired"),
        (Inputs(START, None, [here("s-0")], catalogue, rules), "generic:no-roster"),
        (Inputs(START, roster(people), [here("s-0")], catalogue, None), "generic:no-rules"),
        (
            Inputs(START, roster([shopper("s-0", scopes=("presence",))]), [here("s-0")], catalogue, rules),
            "generic:no-personalization-scope",
        ),
        (Inputs(START, roster(people), [], catalogue, rules), "generic:nobody-near"),
    ]
    for inputs, reason in cases:
        play = ScreenDecider(BABY, CapLedger()).step(inputs)
        assert play is not None
        assert play.kind == "generic"
        assert play.token is None
        assert play.reasons == (reason,)


def test_generic_yields_at_once_and_offer_stays_min_display_then_sticks(simple: tuple[Any, Any]) -> None:
    catalogue, rules = simple
    people = roster([shopper("s-0"), shopper("s-1")])
    decider = ScreenDecider(BABY, CapLedger(), Timing(play_s=10.0, min_display_s=4.0, sticky_margin_m=1.5))
    first = decider.step(Inputs(START, people, [], catalogue, rules))
    assert first is not None
    assert first.kind == "generic"
    arrived = decider.step(Inputs(START + 0.1, people, [here("s-0", START, 2.0)], catalogue, rules))
    assert arrived is not None
    assert arrived.token == "s-0"
    assert arrived.kind == "offer"
    # s-1 is much closer, but the minimum display time holds...
    both = [here("s-0", START, 2.0), here("s-1", START + 1, 0.3)]
    assert decider.step(Inputs(START + 2.0, people, both, catalogue, rules)) is None
    # ...and s-0 leaving does not cut it short either
    assert decider.step(Inputs(START + 3.0, people, [here("s-1", START + 1, 0.3)], catalogue, rules)) is None
    # after it, a viewer closer by less than the margin does not take the screen
    near = [here("s-0", START, 2.0), here("s-1", START + 1, 1.0)]
    assert decider.step(Inputs(START + 5.0, people, near, catalogue, rules)) is None
    taken = decider.step(Inputs(START + 6.0, people, both, catalogue, rules))
    assert taken is not None
    assert taken.token == "s-1"


def test_withdrawal_ends_the_play_at_once(simple: tuple[Any, Any]) -> None:
    catalogue, rules = simple
    people = roster([shopper("s-0")])
    decider = ScreenDecider(BABY, CapLedger())
    assert decider.step(Inputs(START, people, [here("s-0")], catalogue, rules)).token == "s-0"  # type: ignore[union-attr]
    after = decider.step(Inputs(START + 0.5, people.without("s-0"), [], catalogue, rules))
    assert after is not None
    assert after.kind == "generic"
    assert after.token is None


def test_holdout_is_deterministic_labelled_and_near_its_share(simple: tuple[Any, Any]) -> None:
    tokens = [f"s-{i:05d}" for i in range(5000)]
    share = sum(in_holdout(t, "c-1", 0.1) for t in tokens) / len(tokens)
    assert 0.08 < share < 0.12
    assert [in_holdout(t, "c-1", 0.1) for t in tokens[:50]] == [in_holdout(t, "c-1", 0.1) for t in tokens[:50]]
    catalogue, _ = simple
    rules = parse_rules(rules_bytes([("alcohol", ["baby"])], holdout=0.5))
    held = next(t for t in tokens if in_holdout(t, "c-2", 0.5))  # o-2 is campaign c-2
    play = ScreenDecider(BABY, CapLedger()).step(Inputs(START, roster([shopper(held)]), [here(held)], catalogue, rules))
    assert play is not None
    assert play.holdout
    assert play.kind == "generic"
    assert play.token == held
    assert play.withheld == "o-2"
    assert play.reasons[0] == "holdout"


def test_prefs_and_interest_shape_the_play(simple: tuple[Any, Any]) -> None:
    catalogue, rules = simple
    viewer = shopper("s-0", prefs=Prefs(large_text=True, language="de"))
    interests = {"s-0": {"sku-1": START - 10}}
    play = ScreenDecider(BABY, CapLedger()).step(
        Inputs(START, roster([viewer]), [here("s-0")], catalogue, rules, interests)
    )
    assert play is not None
    assert play.large_text
    assert play.language == "de"
    assert "interest:shelf" in play.reasons


def test_decision_for_1000_offers_under_10_ms() -> None:
    offers = [
        offer_dict(i, CATEGORIES[i % 5], skus=[SKUS[i % 8]], priority=i % 100,
                   target={"segments": [SEGMENTS[i % 3]]} if i % 2 else {})
        for i in range(1000)
    ]  # fmt: skip
    catalogue = parse_offers(catalogue_bytes(offers))
    rules = parse_rules(rules_bytes([("alcohol", ["baby"])]))
    viewer = shopper("s-0", segments=("families",), recent_purchases=("sku-3",))
    ledger = CapLedger()
    timings = []
    for _ in range(30):
        started = time.perf_counter()
        choose_offer(catalogue, rules, viewer, BABY, START, ledger, {"sku-1": START - 5})
        timings.append(time.perf_counter() - started)
    assert statistics.median(timings) < 0.010


# --- the payload contract -------------------------------------------------------------------------


def test_schemas_in_the_repo_are_generated_from_the_types() -> None:
    for name, schema in json_schemas().items():
        on_disk = json.loads((SCHEMA_DIR / f"{name}.json").read_text())
        assert on_disk == schema, f"edge/schemas/{name}.json is stale: run python -m edge.signage.offers"


def test_simulated_payloads_are_valid_and_bad_ones_are_rejected_with_the_field() -> None:
    store = SimulatedStore(seed=3)
    catalogue = parse_offers(store.offers_payload())
    assert {o.category for o in catalogue.offers} >= {"alcohol", "baby"}
    assert any(o.tokens for o in catalogue.offers)
    assert any(o.segments for o in catalogue.offers)
    rules = parse_rules(rules_payload(store.start))
    assert ("alcohol", frozenset({"baby", "checkout"})) in rules.exclusions
    bad = json.loads(store.offers_payload())
    bad["offers"][0]["priority"] = 500
    with pytest.raises(DownlinkError, match=r"offers\[0\]\.priority"):
        parse_offers(json.dumps(bad).encode())
    bad = json.loads(store.offers_payload())
    bad["offers"][1]["id"] = bad["offers"][0]["id"]
    with pytest.raises(DownlinkError, match="duplicate id"):
        parse_offers(json.dumps(bad).encode())
    with pytest.raises(DownlinkError, match="image"):
        parse_offers(catalogue_bytes([offer_dict(1, "food", image="../../etc/passwd.png")]))
    with pytest.raises(DownlinkError, match="share"):
        parse_rules(msgspec.json.encode({"version": 1, "issued_at": "2026-11-23T09:00:00Z", "holdout": {"share": 2}}))


def test_caps_ledger_counts_rolling_windows() -> None:
    ledger = CapLedger()
    for k in range(3):
        ledger.record("screen-1", "s-0", "o-1", START + k)
    assert ledger.shopper_plays("s-0", "o-1", START + 10) == 3
    assert ledger.shopper_plays("s-0", "o-1", START + DAY_S + 1.5) == 1
    assert ledger.screen_plays("screen-1", "o-1", START + HOUR_S + 0.5) == 2
    ledger.forget("s-0")
    assert ledger.shopper_plays("s-0", "o-1", START + 10) == 0
