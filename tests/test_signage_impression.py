"""Impressions as the in-store measurement standard asks, redemptions that name the impression, times
that agree at any speed, and caps and holdout groups that survive a restart (a real SQLite file)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.signage.cap_store import load_ledger, open_cap_store, save_ledger
from edge.signage.caps import DAY_S, CapLedger, holdout_draw
from edge.signage.cards import card_for
from edge.signage.decide import Inputs, ScreenDecider
from edge.signage.impression import (
    AUDIENCE_METHOD,
    Facts,
    RedemptionMatcher,
    Shown,
    impression_data,
    play_id,
    redemption_code,
    to_clock,
)
from edge.signage.offers import parse_offers, parse_rules
from edge.timefmt import parse_start
from tests.helpers import START
from tests.test_signage_engine import BABY, catalogue_bytes, here, offer_dict, roster, rules_bytes, shopper


def facts(**kw: object) -> Facts:
    fields: dict[str, object] = {
        "play_id": "p1",
        "kind": "offer",
        "store": "store-1",
        "screen": "screen-1",
        "zone": "baby",
        "zone_type": "in-aisle",
        "content": "o-1",
        "creative_version": "abcd1234",
        "start": START,
        "end": START + 9.7,
        "planned_s": 10.0,
        "frames": 291,
        "last_frame_at": START + 9.69,
        "audience": 2,
        "campaign": "c-1",
        "token": "s-1",
        "code": "ROAST-ABCDEF",
    }
    fields.update(kw)
    return Facts(**fields)  # type: ignore[arg-type]


def test_impression_carries_the_standard_fields_and_keeps_the_old_ones() -> None:
    data = impression_data(facts())
    for old in ("screen", "offer", "kind", "campaign", "token", "start", "end", "duration_s", "holdout",
                "withheld_offer", "reason"):  # fmt: skip
        assert old in data
    assert data["play_id"] == "p1"
    assert data["zone_type"] == "in-aisle"
    assert data["creative"] == {"id": "o-1", "version": "abcd1234"}
    assert data["planned_s"] == 10.0
    assert data["actual_s"] == data["duration_s"] == 9.7
    assert data["completed"] is True  # within 500 ms of the plan
    assert impression_data(facts(end=START + 9.4))["completed"] is False
    assert data["display"] == {"frames": 291, "last_frame_at": "2026-11-23T10:00:09.690Z"}
    assert data["audience"] == {"count": 2, "method": AUDIENCE_METHOD}
    assert data["code"] == "ROAST-ABCDEF"
    json.dumps(data)


@pytest.mark.parametrize("speed", [1.0, 4.0, 20.0])
def test_start_end_and_duration_agree_at_any_speed(speed: float) -> None:
    # a play presented for 2.5 real seconds, reported 1 real second after it ended
    start_mono, end_mono, now_mono = 100.0, 102.5, 103.5
    clock_at_now = START + 1000.0
    start = to_clock(start_mono, now_clock=clock_at_now, now_mono=now_mono, speed=speed)
    end = to_clock(end_mono, now_clock=clock_at_now, now_mono=now_mono, speed=speed)
    assert end - start == pytest.approx(2.5 * speed)
    assert clock_at_now - start == pytest.approx(3.5 * speed)  # not late by (speed - 1) x the play
    data = impression_data(facts(start=start, end=end))
    span = parse_start(str(data["end"])) - parse_start(str(data["start"]))
    assert span == pytest.approx(data["duration_s"], abs=2e-3)


def test_codes_are_unique_per_impression_and_say_nothing_of_the_token() -> None:
    ids = {play_id("store-1", "screen-1", START + i * 0.001, i) for i in range(5000)}
    assert len(ids) == 5000
    codes = {redemption_code("ROAST", p) for p in ids}
    assert len(codes) == 5000
    assert all(code.startswith("ROAST-") and len(code) == len("ROAST-") + 6 for code in codes)
    assert redemption_code("ROAST", "p1") == redemption_code("ROAST", "p1")  # deterministic


def test_the_card_shows_the_impressions_code_and_its_qr_carries_it() -> None:
    offer = offer_dict(1, "food", code="BABY20", redeem_url="https://shop.example/r/BABY20")
    cat = parse_offers(catalogue_bytes([offer]))
    play = ScreenDecider(BABY, CapLedger()).step(
        Inputs(START, roster([shopper("s-1")]), [here("s-1")], cat, parse_rules(rules_bytes([])))
    )
    assert play is not None
    code = redemption_code("BABY20", "p1")
    card = card_for(play, cat, 1, code=code)
    assert card.code == code
    assert card.qr == f"https://shop.example/r/{code}"
    assert "s-1" not in repr(card)


def test_a_redemption_names_its_impression_within_the_window() -> None:
    matcher = RedemptionMatcher(window_s=DAY_S)
    matcher.shown("ROAST-ABCDEF", Shown("p1", "o-coffee", "s-1", START))
    assert matcher.redeem("roast-abcdef", "s-1", START + 600) == {
        "code": "ROAST-ABCDEF",
        "offer": "o-coffee",
        "token": "s-1",
        "impression": "p1",
    }
    assert matcher.redeem("ROAST-ZZZZZZ", None, START + 600) is None
    assert matcher.redeem("ROAST-ABCDEF", "s-1", START + 650) is None, "each code once"
    # a code handed on to someone not opted in: redeemed, naming nobody
    matcher.shown("ROAST-GHJKMN", Shown("p2", "o-coffee", "s-1", START + 10, personal=True))
    assert matcher.redeem("ROAST-GHJKMN", None, START + 700) == {
        "code": "ROAST-GHJKMN",
        "offer": "o-coffee",
        "token": None,
        "impression": "p2",
    }
    matcher.shown("ROAST-PQRSTV", Shown("p3", "o-coffee", "s-1", START + 20, personal=True))
    assert matcher.redeem("ROAST-PQRSTV", "s-1", START + DAY_S + 21) is None  # past the window
    assert len(matcher) == 0


# --- caps across a restart (a real SQLite file) ----------------------------------------------------


async def test_a_shopper_capped_at_two_a_day_sees_two_across_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    cat = parse_offers(catalogue_bytes([offer_dict(1, "food")], playlist=True))
    rules = parse_rules(rules_bytes([], per_day=2))
    viewer = shopper("s-1")
    offers_seen = 0
    now = START
    for _restart in range(2):  # run, restart, run: each run lasts three minutes of arrivals
        async with open_cap_store(db) as store:
            ledger = await load_ledger(store, now)
            decider = ScreenDecider(BABY, ledger)
            for _ in range(18):
                play = decider.step(Inputs(now, roster([viewer]), [here("s-1", now)], cat, rules))
                if play is not None and play.kind == "offer":
                    offers_seen += 1
                await save_ledger(store, ledger)
                now += 10.0
    assert offers_seen == 2


async def test_holdout_groups_persist_and_a_withdrawal_purges_every_row(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    token = next(t for t in (f"s-{i}" for i in range(1000)) if holdout_draw(t, "c-1", 0.1))
    async with open_cap_store(db) as store:
        ledger = await load_ledger(store, START)
        assert ledger.in_holdout(token, "c-1", 0.1, START)
        ledger.record("screen-1", token, "o-1", START)
        ledger.record("screen-1", "s-other", "o-1", START)
        assert await save_ledger(store, ledger) == 3
    async with open_cap_store(db) as store:
        ledger = await load_ledger(store, START + 60)
        # the share went to 0: the shopper stays in the control group for the campaign
        assert ledger.in_holdout(token, "c-1", 0.0, START + 60)
        assert ledger.shopper_plays(token, "o-1", START + 60) == 1
        await store.forget(token)
    async with open_cap_store(db) as store:
        ledger = await load_ledger(store, START + 120)
        assert ledger.shopper_plays(token, "o-1", START + 120) == 0
        assert ledger.shopper_plays("s-other", "o-1", START + 120) == 1
        assert not ledger.in_holdout(token, "c-1", 0.0, START + 120)
    async with open_cap_store(db) as store:
        plays, _ = await store.load(START + 2 * DAY_S)  # aged out of every cap window
        assert plays == []
