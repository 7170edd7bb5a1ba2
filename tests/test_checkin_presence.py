"""App presence: check-ins become presence with via "app" under the engine's rules; BLE refines the zone."""

from __future__ import annotations

import json
from typing import Literal

from hypothesis import given, settings
from hypothesis import strategies as st

from edge.checkin.app_presence import STORE_ZONE, AppPresence, app_event_data
from edge.checkin.proof import AppCheckin
from edge.presence import PresenceEvent
from edge.roster import Roster, parse_roster
from tests.helpers import START, roster_bytes

TIMEOUT_S = 1800.0
ADA, BEN = "s-ada", "s-ben"


def roster(*, expires: float = START + 86_400) -> Roster:
    shoppers = [
        {"token": ADA, "scopes": ["presence", "personalization"], "ids": []},
        {"token": BEN, "scopes": ["personalization"], "ids": []},  # no presence scope
    ]
    return parse_roster(roster_bytes(shoppers=shoppers, expires=expires))


def tracker() -> AppPresence:
    return AppPresence(TIMEOUT_S, lambda minor: "entrance" if minor == 1 else None, ("entrance", "baby"))


def checkin(
    event: Literal["enter", "refresh", "exit"] = "enter", token: str = ADA, minor: int = 1, zone: str | None = None
) -> AppCheckin:
    return AppCheckin(token, event, minor, zone, START, START + 300)


def kinds(events: list[PresenceEvent]) -> list[tuple[str, str, str]]:
    return [(e.kind, e.zone, e.via) for e in events]


def ble(kind: Literal["entered", "dwell", "exited"], zone: str, at: float, token: str = ADA) -> PresenceEvent:
    return PresenceEvent(kind, token, zone, at, "eddystone-eid", -60.0, 1.0, 0.0)


def test_enter_refresh_exit() -> None:
    t, r = tracker(), roster()
    assert kinds(t.on_checkin(checkin(), START, r)) == [("entered", "entrance", "app")]
    assert t.on_checkin(checkin("refresh"), START + 60, r) == []
    assert t.app_present() == {ADA: "entrance"}
    (out,) = t.on_checkin(checkin("exit"), START + 90, r)
    assert (out.kind, out.zone, out.dwell_s) == ("exited", "entrance", 90.0)
    assert app_event_data(out) == {"token": ADA, "zone": "entrance", "via": "app", "dwell_s": 90.0}
    assert t.app_present() == {}


def test_zone_from_the_proof_then_the_minor_then_the_store() -> None:
    t, r = tracker(), roster()
    assert kinds(t.on_checkin(checkin(zone="baby"), START, r)) == [("entered", "baby", "app")]
    t.forget(ADA)
    assert kinds(t.on_checkin(checkin(zone="nowhere", minor=9), START, r)) == [("entered", STORE_ZONE, "app")]
    # one zone at a time: a refresh naming another zone moves the shopper
    assert kinds(t.on_checkin(checkin("refresh", zone="baby"), START + 5, r)) == [
        ("exited", STORE_ZONE, "app"),
        ("entered", "baby", "app"),
    ]


def test_a_refresh_keeps_presence_past_the_timeout_and_silence_ends_it() -> None:
    t, r = tracker(), roster()
    t.on_checkin(checkin(), START, r)
    t.on_checkin(checkin("refresh"), START + TIMEOUT_S - 1, r)
    assert t.tick(START + TIMEOUT_S + 1, r) == []
    assert kinds(t.tick(START + 2 * TIMEOUT_S - 1, r)) == [("exited", "entrance", "app")]
    assert t.app_present() == {}


def test_the_engine_rules() -> None:
    t, r = tracker(), roster()
    assert t.on_checkin(checkin(token="s-unknown"), START, r) == []  # not rostered
    assert t.on_checkin(checkin(token=BEN), START, r) == []  # no presence scope
    assert t.on_checkin(checkin(), START, None) == []  # no roster
    old = roster(expires=START - 1)
    assert t.on_checkin(checkin(), START, old) == []  # an expired roster resolves nobody
    assert t.dropped == 4
    t.on_checkin(checkin(), START, r)
    t.forget(ADA)  # a withdrawal: forgotten, silently
    assert t.tick(START + 2 * TIMEOUT_S, r) == []
    assert t.app_present() == {}
    t.on_checkin(checkin(), START, r)
    assert kinds(t.tick(START + 10, old)) == [("exited", "entrance", "app")]  # the roster expired: it ends


def test_ble_refines_the_zone_and_hands_back() -> None:
    t, r = tracker(), roster()
    t.on_checkin(checkin(), START, r)  # entrance, by the app
    # BLE hears the shopper in the same zone: nothing new to say, BLE owns it now
    assert t.merge_ble([ble("entered", "entrance", START + 2)]) == []
    # BLE moves them to baby (its hand-off: exited entrance, entered baby)
    moved = t.merge_ble([ble("exited", "entrance", START + 30), ble("entered", "baby", START + 30)])
    assert kinds(moved) == [("exited", "entrance", "app"), ("entered", "baby", "eddystone-eid")]
    assert t.app_present() == {ADA: "baby"}
    assert t.merge_ble([ble("dwell", "baby", START + 60)])[0].kind == "dwell"
    # the app's refresh while BLE owns the presence changes nothing visible
    assert t.on_checkin(checkin("refresh"), START + 70, r) == []
    # the phone goes quiet (iOS): BLE exits baby, the app still says "in the store" at the entrance
    back = t.merge_ble([ble("exited", "baby", START + 90)])
    assert kinds(back) == [("exited", "baby", "eddystone-eid"), ("entered", "entrance", "app")]
    assert kinds(t.on_checkin(checkin("exit"), START + 120, r)) == [("exited", "entrance", "app")]


def test_ble_only_shoppers_pass_through_untouched() -> None:
    t = tracker()
    events = [ble("entered", "baby", START, BEN), ble("exited", "baby", START + 9, BEN)]
    assert t.merge_ble(events) == events


def test_an_app_exit_while_ble_holds_the_shopper_leaves_ble_in_charge() -> None:
    t, r = tracker(), roster()
    t.on_checkin(checkin(), START, r)
    assert kinds(t.merge_ble([ble("entered", "baby", START + 1)])) == [
        ("exited", "entrance", "app"),
        ("entered", "baby", "eddystone-eid"),
    ]
    assert t.on_checkin(checkin("exit"), START + 5, r) == []
    assert kinds(t.merge_ble([ble("exited", "baby", START + 9)])) == [("exited", "baby", "eddystone-eid")]


# --- properties -----------------------------------------------------------------------------------

TOKENS = [ADA, BEN, "s-unknown", "s-other"]
_step = st.one_of(
    st.tuples(
        st.just("app"),
        st.sampled_from(["enter", "refresh", "exit"]),
        st.sampled_from(TOKENS),
        st.sampled_from([None, "baby", "entrance"]),
    ),
    st.tuples(
        st.just("ble"),
        st.sampled_from(["entered", "exited"]),
        st.sampled_from(TOKENS),
        st.sampled_from(["baby", "entrance"]),
    ),
    st.tuples(st.just("tick"), st.just(""), st.just(""), st.none()),
    st.tuples(st.just("forget"), st.just(""), st.sampled_from(TOKENS), st.none()),
)


@settings(max_examples=200, deadline=None)
@given(steps=st.lists(_step, max_size=40), gaps=st.lists(st.floats(0, 1000), min_size=40, max_size=40))
def test_never_an_event_for_an_unrostered_token_and_one_zone_at_a_time(
    steps: list[tuple[str, str, str, str | None]], gaps: list[float]
) -> None:
    t, r = tracker(), roster()
    now = START
    ble_zone: dict[str, str] = {}  # a consistent BLE engine: one zone at a time per token
    shown: dict[str, str] = {}
    for (kind, what, token, zone), gap in zip(steps, gaps, strict=False):
        now += gap
        out: list[PresenceEvent] = []
        if kind == "app":
            out = t.on_checkin(AppCheckin(token, what, 1, zone, now, now + 300), now, r)  # type: ignore[arg-type]
        elif kind == "tick":
            out = t.tick(now, r)
        elif kind == "forget":
            t.forget(token)
            shown.pop(token, None)
            ble_zone.pop(token, None)
        elif token == ADA:  # BLE resolves only rostered shoppers with the presence scope
            assert zone is not None
            if what == "entered" and token not in ble_zone:
                ble_zone[token] = zone
                out = t.merge_ble([ble("entered", zone, now, token)])
            elif what == "exited" and token in ble_zone:
                out = t.merge_ble([ble("exited", ble_zone.pop(token), now, token)])
        for event in out:
            assert event.token == ADA, "an event for a token without presence consent"
            json.dumps(app_event_data(event))
            if event.kind == "entered":
                assert event.token not in shown, "entered twice without an exit"
                shown[event.token] = event.zone
            elif event.kind == "exited":
                assert shown.pop(event.token) == event.zone, "exited a zone it was not in"
