"""The attribution rule as properties: never a token without the shelf scope, never a shopper
outside the zone, ties and near-ties null, a clear nearest shopper wins; and the recent memory."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.presence import Occupant
from edge.shelf.attribution import Attribution, attribute
from edge.shelf.recent import Interaction, RecentInteractions

ZONES = ("baby", "drinks", "produce")
EXPONENT = 2.2
MARGIN_DB = 6.0


def occupant(token: str, zone: str, distance_m: float) -> Occupant:
    return Occupant(token, zone, 0.0, -59.0 - 22.0 * math.log10(max(distance_m, 0.05)), distance_m, "ibeacon")


@st.composite
def scenes(draw: st.DrawFn) -> tuple[list[Occupant], frozenset[str]]:
    count = draw(st.integers(0, 8))
    tokens = [f"s-{i}" for i in range(count)]
    people = [
        occupant(token, draw(st.sampled_from(ZONES)), draw(st.floats(0.0, 30.0, allow_nan=False))) for token in tokens
    ]
    scoped = frozenset(draw(st.lists(st.sampled_from(tokens), unique=True))) if tokens else frozenset()
    return people, scoped


def run(people: list[Occupant], scoped: frozenset[str], zone: str = "baby", margin: float = MARGIN_DB) -> Attribution:
    return attribute(
        100.0, zone, people, lambda token, at: token in scoped, margin_db=margin, path_loss_exponent=EXPONENT
    )


@given(scene=scenes(), zone=st.sampled_from(ZONES), margin=st.floats(0.0, 20.0))
def test_never_a_token_without_the_scope_or_outside_the_zone(
    scene: tuple[list[Occupant], frozenset[str]], zone: str, margin: float
) -> None:
    people, scoped = scene
    found = run(people, scoped, zone, margin)
    if found.token is not None:
        assert found.token in scoped
        assert any(o.token == found.token and o.zone == zone for o in people)
        assert found.reason == "nearest"
    else:
        assert found.reason in {"nobody-opted-in", "too-close-to-call", "someone-else-nearer"}


@given(scene=scenes(), zone=st.sampled_from(ZONES))
def test_an_attributed_shopper_is_clearly_nearest_in_the_zone(
    scene: tuple[list[Occupant], frozenset[str]], zone: str
) -> None:
    people, scoped = scene
    found = run(people, scoped, zone)
    if found.token is None:
        return
    mine = next(o for o in people if o.token == found.token)
    for other in people:
        if other.zone == zone and other.token != found.token:
            lead_db = 10 * EXPONENT * math.log10(max(other.distance_m, 0.05) / max(mine.distance_m, 0.05))
            assert lead_db > MARGIN_DB


@given(distance=st.floats(0.1, 20.0), zone=st.sampled_from(ZONES), margin=st.floats(0.0, 20.0))
def test_a_tie_is_null(distance: float, zone: str, margin: float) -> None:
    people = [occupant("s-a", zone, distance), occupant("s-b", zone, distance)]
    found = run(people, frozenset({"s-a", "s-b"}), zone, margin)
    assert found == Attribution(None, "too-close-to-call")


@given(scene=scenes())
def test_shoppers_of_other_zones_change_nothing(scene: tuple[list[Occupant], frozenset[str]]) -> None:
    people, scoped = scene
    inside = [o for o in people if o.zone == "baby"]
    assert run(people, scoped) == run(inside, scoped)


def test_the_reasons() -> None:
    scoped = frozenset({"s-near", "s-far"})
    assert run([], scoped) == Attribution(None, "nobody-opted-in")
    assert run([occupant("s-none", "baby", 1.0)], scoped) == Attribution(None, "nobody-opted-in")
    assert run([occupant("s-near", "drinks", 1.0)], scoped) == Attribution(None, "nobody-opted-in")
    assert run([occupant("s-near", "baby", 1.0)], scoped) == Attribution("s-near", "nearest")
    two = [occupant("s-near", "baby", 1.0), occupant("s-far", "baby", 4.0)]  # 13 dB apart
    assert run(two, scoped) == Attribution("s-near", "nearest")
    close = [occupant("s-near", "baby", 1.0), occupant("s-far", "baby", 1.5)]  # 3.9 dB apart
    assert run(close, scoped) == Attribution(None, "too-close-to-call")
    unscoped_nearer = [occupant("s-none", "baby", 1.0), occupant("s-far", "baby", 4.0)]
    assert run(unscoped_nearer, scoped) == Attribution(None, "someone-else-nearer")
    with pytest.raises(ValueError, match="nearest"):
        Attribution("s-near", "too-close-to-call")


def test_recent_interactions_are_bounded_aged_and_forgotten() -> None:
    recent = RecentInteractions(max_items=3, max_age_s=100.0)
    for i, (action, sku) in enumerate([("pickup", "a"), ("pickup", "b"), ("putback", "a"), ("pickup", "c")]):
        recent.add("s-1", Interaction(float(i), "shelf-a3", "baby", action, sku))  # type: ignore[arg-type]
    assert [i.sku for i in recent.get("s-1")] == ["b", "a", "c"]  # the oldest fell out
    assert recent.pickups("s-1", now=3.0) == ["c", "b"]
    assert recent.get("s-1", now=102.5) == [recent.get("s-1")[-1]]  # only t = 3 is younger than 100 s
    recent.add("s-2", Interaction(500.0, "shelf-a3", "baby", "pickup", "d"))
    assert recent.get("s-1") == []  # pruned when time moved on
    assert recent.forget("s-2")
    assert recent.get("s-2") == []
    assert len(recent) == 0
