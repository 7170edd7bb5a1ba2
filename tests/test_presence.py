"""The presence engine, on a clock moved by hand: enter, dwell, exit on a timer, hand-off, forget."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from edge.config import from_mapping
from edge.presence import PresenceEngine, PresenceEvent, Sighting

CONFIG = from_mapping(
    {
        "zones": [
            {"id": "baby", "scanners": ["gw-1"], "dwell_interval_s": 10.0},
            {"id": "drinks", "scanners": ["gw-2"]},
        ]
    }
)
T0 = 1_795_428_000.0


def engine() -> PresenceEngine:
    return PresenceEngine(CONFIG.zones, CONFIG.presence)


def feed(
    eng: PresenceEngine, token: str, scanner: str, rssi: int, start: float, seconds: float, hz: float = 4.0
) -> list[PresenceEvent]:
    out: list[PresenceEvent] = []
    steps = int(seconds * hz)
    for i in range(steps):
        at = start + i / hz
        out += eng.observe(Sighting(token, "ibeacon", scanner, rssi, -59.0, at))
        out += eng.tick(at)
    return out


def test_a_near_shopper_enters_and_dwells() -> None:
    eng = engine()
    events = feed(eng, "s-1", "gw-1", -55, T0, 25)
    kinds = [(e.kind, e.zone) for e in events]
    assert kinds[0] == ("entered", "baby")
    assert ("dwell", "baby") in kinds
    entered = events[0]
    assert entered.at - T0 <= 2.0
    assert 0 < entered.distance_m < 3
    assert eng.zone_of("s-1") == "baby"
    assert [o.token for o in eng.occupants("baby")] == ["s-1"]


def test_exit_fires_on_a_timer_without_further_adverts() -> None:
    eng = engine()
    feed(eng, "s-1", "gw-1", -55, T0, 5)
    last = T0 + 5
    exits: list[PresenceEvent] = []
    t = last
    while t < last + 15 and not exits:
        t += 0.25
        exits = [e for e in eng.tick(t) if e.kind == "exited"]
    assert exits, "no exit within 15 s of silence"
    assert exits[0].zone == "baby"
    assert exits[0].at - last <= 10.0
    assert eng.zone_of("s-1") is None


def test_a_far_shopper_never_enters() -> None:
    eng = engine()
    assert feed(eng, "s-1", "gw-1", -95, T0, 20) == []


def test_scanners_outside_every_zone_are_ignored() -> None:
    eng = engine()
    assert feed(eng, "s-1", "gw-9", -40, T0, 10) == []


def test_forget_drops_everything_and_emits_nothing() -> None:
    eng = engine()
    feed(eng, "s-1", "gw-1", -55, T0, 5)
    eng.forget("s-1")
    assert eng.zone_of("s-1") is None
    assert eng.occupants() == []
    assert all(e.token != "s-1" for e in eng.tick(T0 + 60))


def test_hand_off_to_a_clearly_stronger_zone() -> None:
    eng = engine()
    feed(eng, "s-1", "gw-1", -55, T0, 5)
    events: list[PresenceEvent] = []
    for i in range(40):
        at = T0 + 5 + i / 4
        events += eng.observe(Sighting("s-1", "ibeacon", "gw-1", -85, -59.0, at))
        events += eng.observe(Sighting("s-1", "ibeacon", "gw-2", -50, -59.0, at))
        events += eng.tick(at)
    kinds = [(e.kind, e.zone) for e in events]
    assert ("exited", "baby") in kinds
    assert ("entered", "drinks") in kinds
    assert kinds.index(("exited", "baby")) < kinds.index(("entered", "drinks"))
    assert eng.zone_of("s-1") == "drinks"


sightings = st.lists(
    st.tuples(
        st.sampled_from(["s-1", "s-2"]),
        st.sampled_from(["gw-1", "gw-2", "gw-9"]),
        st.integers(-100, -35),
        st.floats(0.0, 3.0),
    ),
    max_size=150,
)


@settings(max_examples=60, deadline=None)
@given(sightings)
def test_one_zone_at_a_time_and_entered_exited_alternate(items: list[tuple[str, str, int, float]]) -> None:
    eng = engine()
    at = T0
    inside: dict[str, str | None] = {"s-1": None, "s-2": None}
    for token, scanner, rssi, gap in items:
        at += gap
        for event in eng.tick(at) + eng.observe(Sighting(token, "ibeacon", scanner, rssi, None, at)):
            assert event.token in inside
            if event.kind == "entered":
                assert inside[event.token] is None, "entered a second zone without leaving the first"
                inside[event.token] = event.zone
            elif event.kind == "exited":
                assert inside[event.token] == event.zone
                inside[event.token] = None
            else:
                assert inside[event.token] == event.zone
        for token, zone in inside.items():
            assert eng.zone_of(token) == zone
