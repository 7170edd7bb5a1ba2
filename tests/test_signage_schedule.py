"""Dayparting in the store's time zone (DST changes in Europe/Berlin, midnight crossings, date ranges)
and discretion on a public screen (sensitive targeted offers kept off it; "your offer" only when targeted)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from edge.errors import DownlinkError
from edge.signage.caps import CapLedger
from edge.signage.cards import card_for
from edge.signage.decide import Inputs, ScreenDecider
from edge.signage.discretion import SENSITIVE_CATEGORIES, discreet
from edge.signage.offers import parse_offers, parse_rules
from edge.signage.rank import Place, choose_offer
from edge.signage.schedule import Schedule, window
from tests.test_signage_engine import here, roster, rules_bytes, shopper

BERLIN = ZoneInfo("Europe/Berlin")
UTC = dt.UTC


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


def open_minutes(schedule: Schedule, start: float, hours: float) -> list[float]:
    """Every minute (as a Unix time) in ``hours`` from ``start`` at which the schedule is open."""
    return [start + m * 60 for m in range(int(hours * 60)) if schedule.open_at(start + m * 60, BERLIN)]


def sched(**kw: Any) -> Schedule:
    return Schedule((window(**kw),))


# --- DST: spring forward (2026-03-29 02:00 CET -> 03:00 CEST, at 01:00 UTC) -------------------------


def test_a_window_inside_the_skipped_hour_never_opens() -> None:
    assert open_minutes(sched(start="02:15", end="02:45"), utc(2026, 3, 28, 22), 6) == []
    # the night before and after it opens as usual: 30 minutes each
    assert len(open_minutes(sched(start="02:15", end="02:45"), utc(2026, 3, 27, 22), 6)) == 30
    assert len(open_minutes(sched(start="02:15", end="02:45"), utc(2026, 3, 29, 22), 6)) == 30


def test_a_window_across_the_skipped_hour_is_an_hour_shorter() -> None:
    minutes = open_minutes(sched(start="01:30", end="03:30"), utc(2026, 3, 28, 22), 6)
    assert len(minutes) == 60  # 01:30 CET (00:30 UTC) to 03:30 CEST (01:30 UTC)
    assert minutes[0] == utc(2026, 3, 29, 0, 30)
    assert minutes[-1] == utc(2026, 3, 29, 1, 29)


# --- DST: fall back (2026-10-25 03:00 CEST -> 02:00 CET, at 01:00 UTC) ------------------------------


def test_a_window_inside_the_repeated_hour_opens_both_times() -> None:
    minutes = open_minutes(sched(start="02:15", end="02:45"), utc(2026, 10, 24, 22), 6)
    assert len(minutes) == 60
    assert minutes[0] == utc(2026, 10, 25, 0, 15)  # 02:15 CEST
    assert minutes[30] == utc(2026, 10, 25, 1, 15)  # 02:15 CET, the second time
    assert utc(2026, 10, 25, 0, 50) not in minutes  # 02:50 CEST: between the two


def test_a_midnight_window_across_the_fall_back_is_an_hour_longer() -> None:
    # Saturday 23:00 CEST to Sunday 03:00 CET: four hours on the clock, five real hours
    minutes = open_minutes(sched(days=["sat"], start="23:00", end="03:00"), utc(2026, 10, 24, 12), 24)
    assert len(minutes) == 300
    assert minutes[0] == utc(2026, 10, 24, 21)
    assert minutes[-1] == utc(2026, 10, 25, 1, 59)


# --- midnight and dates ----------------------------------------------------------------------------


def test_a_window_crossing_midnight_belongs_to_the_day_it_opens() -> None:
    friday_night = sched(days=["fri"], start="22:00", end="02:00")
    local = dt.datetime(2026, 11, 27, 21, 59, tzinfo=BERLIN)  # a Friday
    assert not friday_night.open_at(local.timestamp(), BERLIN)
    assert friday_night.open_at((local + dt.timedelta(minutes=1)).timestamp(), BERLIN)
    assert friday_night.open_at(dt.datetime(2026, 11, 28, 1, 59, tzinfo=BERLIN).timestamp(), BERLIN)  # Sat
    assert not friday_night.open_at(dt.datetime(2026, 11, 28, 2, 0, tzinfo=BERLIN).timestamp(), BERLIN)
    assert not friday_night.open_at(dt.datetime(2026, 11, 28, 23, 0, tzinfo=BERLIN).timestamp(), BERLIN)  # Sat
    assert not friday_night.open_at(dt.datetime(2026, 11, 27, 1, 0, tzinfo=BERLIN).timestamp(), BERLIN)  # Thu's


def test_dates_are_an_inclusive_range_of_opening_days() -> None:
    advent = sched(start="08:00", end="20:00", dates=[dt.date(2026, 11, 29), dt.date(2026, 12, 24)])
    at = dict.fromkeys(
        ["2026-11-28", "2026-11-29", "2026-12-24", "2026-12-25"],
        False,
    )
    for day in at:
        noon = dt.datetime.fromisoformat(day + "T12:00").replace(tzinfo=BERLIN)
        at[day] = advent.open_at(noon.timestamp(), BERLIN)
    assert at == {"2026-11-28": False, "2026-11-29": True, "2026-12-24": True, "2026-12-25": False}
    assert not advent.open_at(dt.datetime(2026, 12, 1, 20, 0, tzinfo=BERLIN).timestamp(), BERLIN)


def test_bad_windows_are_named() -> None:
    with pytest.raises(ValueError, match=r"\$.days\[1\]"):
        window(days=["mon", "xyz"])
    with pytest.raises(ValueError, match="empty window"):
        window(start="09:00", end="09:00")
    with pytest.raises(ValueError, match="before the first"):
        window(dates=[dt.date(2026, 2, 1), dt.date(2026, 1, 1)])


# --- in the catalogue and the decision engine -------------------------------------------------------


def catalogue(offers: list[dict[str, Any]], playlist: list[dict[str, Any]] | None = None) -> bytes:
    return json.dumps(
        {
            "version": 1,
            "issued_at": "2026-11-23T06:00:00Z",
            "timezone": "UTC",
            "offers": offers,
            "playlist": playlist or [{"id": "g-1", "headline": {"en": "Hello"}}],
        }
    ).encode()


def offer(i: int, **kw: Any) -> dict[str, Any]:
    return {"id": f"o-{i}", "campaign": "c", "category": "food", "headline": {"en": f"Offer {i}"}, **kw}


STORE = Place("screen-1", "baby", frozenset({"baby"}), timezone=BERLIN)
MONDAY_0730_BERLIN = dt.datetime(2026, 11, 23, 7, 30, tzinfo=BERLIN).timestamp()


def test_offers_follow_their_schedule_in_the_store_time_zone_and_old_dayparts_still_work() -> None:
    cat = parse_offers(
        catalogue(
            [
                offer(1, priority=90, schedule=[{"days": ["mon"], "from": "07:00", "to": "08:00"}]),
                offer(2, priority=80, dayparts=[{"days": [0], "start": "06:00", "end": "07:00"}]),  # in UTC
                offer(3, priority=10),
            ]
        )
    )
    rules = parse_rules(rules_bytes([]))
    viewer = shopper("s-1")
    at = MONDAY_0730_BERLIN  # 06:30 UTC: both open
    assert choose_offer(cat, rules, viewer, STORE, at, CapLedger()).offer.id == "o-1"  # type: ignore[union-attr]
    # o-1's window is Berlin time: at 07:30 UTC (08:30 in Berlin) it is closed, and o-2's UTC daypart too
    assert choose_offer(cat, rules, viewer, STORE, at + 3600, CapLedger()).offer.id == "o-3"  # type: ignore[union-attr]
    # without a store time zone, schedules are read in the catalogue's (UTC): 07:30 UTC is in 07:00-08:00
    utc_place = Place("screen-1", "baby", frozenset({"baby"}))
    assert choose_offer(cat, rules, viewer, utc_place, at + 3600, CapLedger()).offer.id == "o-1"  # type: ignore[union-attr]


def test_playlist_items_follow_their_schedule() -> None:
    items: list[dict[str, Any]] = [
        {"id": "g-breakfast", "headline": {"en": "Breakfast"}, "schedule": [{"from": "06:00", "to": "10:00"}]},
        {"id": "g-dinner", "headline": {"en": "Dinner"}, "schedule": [{"from": "17:00", "to": "21:00"}]},
        {"id": "g-always", "headline": {"en": "Hello"}},
    ]
    cat = parse_offers(catalogue([], items))
    rules = parse_rules(rules_bytes([]))
    shown = []
    decider = ScreenDecider(STORE, CapLedger())
    now = MONDAY_0730_BERLIN
    for _ in range(4):
        play = decider.step(Inputs(now, roster([]), [], cat, rules))
        assert play is not None
        shown.append(play.content)
        now = play.until
    assert "g-dinner" not in shown
    assert set(shown) == {"g-breakfast", "g-always"}


def test_a_schedule_payload_error_names_the_field() -> None:
    bad = catalogue([offer(1, schedule=[{"days": ["mon"], "from": "09:00", "to": "09:00"}])])
    with pytest.raises(DownlinkError, match=r"\$.offers\[0\].schedule\[0\].to"):
        parse_offers(bad)
    with pytest.raises(DownlinkError, match=r"\$.offers\[0\].schedule\[0\].days"):
        parse_offers(catalogue([offer(1, schedule=[{"days": ["monday"]}])]))


# --- discretion ------------------------------------------------------------------------------------


def test_every_sensitive_category_says_why() -> None:
    assert {"baby", "birthday", "health", "pharmacy"} <= set(SENSITIVE_CATEGORIES)
    assert all(len(reason) > 10 for reason in SENSITIVE_CATEGORIES.values())


def test_a_targeted_offer_about_a_personal_fact_stays_off_the_public_screen() -> None:
    offers = [
        offer(1, category="baby", priority=90, target={"segments": ["families"]}),
        offer(2, category="birthday", priority=90, target={"tokens": ["s-1"]}),
        offer(3, category="baby", priority=50),  # for everyone: says nothing about the viewer
    ]
    cat = parse_offers(catalogue(offers))
    rules = parse_rules(rules_bytes([]))
    viewer = shopper("s-1", segments=("families",))
    choice = choose_offer(cat, rules, viewer, STORE, MONDAY_0730_BERLIN, CapLedger())
    assert choice.offer is not None
    assert choice.offer.id == "o-3"
    assert choice.withheld == 2
    assert [discreet(o) for o in cat.offers] == [False, False, True]
    # marked public-safe by the CDP: it may play
    offers[0]["public_safe"] = True
    cat = parse_offers(catalogue(offers))
    assert choose_offer(cat, rules, viewer, STORE, MONDAY_0730_BERLIN, CapLedger()).offer.id == "o-1"  # type: ignore[union-attr]
    # nothing else eligible: the reason says why the screen stayed generic
    only = parse_offers(catalogue(offers[1:2]))
    assert choose_offer(only, rules, viewer, STORE, MONDAY_0730_BERLIN, CapLedger()).reasons == ("generic:discretion",)


def test_your_offer_only_over_an_offer_aimed_at_the_shopper() -> None:
    rules = parse_rules(rules_bytes([]))
    for target, labelled in (({}, False), ({"segments": ["vegan"]}, True), ({"tokens": ["s-1"]}, True)):
        cat = parse_offers(catalogue([offer(1, target=target)]))
        decider = ScreenDecider(STORE, CapLedger())
        play = decider.step(
            Inputs(MONDAY_0730_BERLIN, roster([shopper("s-1", segments=("vegan",))]), [here("s-1")], cat, rules)
        )
        assert play is not None
        assert play.kind == "offer"
        card = card_for(play, cat, 1)
        assert (card.label is not None) is labelled, target
