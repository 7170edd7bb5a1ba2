"""Properties of the presence engine, whatever the sightings, ticks and withdrawals (Hypothesis).

- one zone per shopper at a time, and ``zone_of`` / ``occupants`` agree with the events;
- per shopper and zone, ``entered`` and ``exited`` alternate (dwell only while inside);
- after ``forget``, nothing about that shopper until it is sighted again;
- never an event about a shopper who was never sighted, nor from a scanner outside every zone.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from edge.config import from_mapping
from edge.presence import PresenceEngine, PresenceEvent, Sighting

CONFIG = from_mapping(
    {
        "zones": [
            {"id": "baby", "scanners": ["gw-1"], "dwell_interval_s": 5.0, "exit_timeout_s": 2.0},
            {"id": "drinks", "scanners": ["gw-2", "gw-3"], "handoff_samples": 1, "handoff_margin_db": 1.0},
            {"id": "checkout", "scanners": ["gw-3"]},
        ]
    }
)
T0 = 1_795_428_000.0
TOKENS = ("s-1", "s-2", "s-3")
NEVER = "s-never"


@dataclass(frozen=True)
class See:
    token: str
    scanner: str
    rssi: int
    power: float | None
    gap_s: float


@dataclass(frozen=True)
class Tick:
    gap_s: float


@dataclass(frozen=True)
class Forget:
    token: str


gaps = st.floats(0.0, 3.0, allow_nan=False)
steps = st.lists(
    st.one_of(
        st.builds(
            See,
            st.sampled_from(TOKENS),
            st.sampled_from(["gw-1", "gw-2", "gw-3", "gw-9"]),
            st.integers(-100, -35),
            st.sampled_from([None, -59.0, -66.0, -52.0]),
            gaps,
        ),
        st.builds(Tick, st.floats(0.0, 6.0, allow_nan=False)),
        st.builds(Forget, st.sampled_from((*TOKENS, NEVER))),
    ),
    max_size=250,
)


class Model:
    """What the events say; checked against the engine after every step."""

    def __init__(self) -> None:
        self.zone: dict[str, str | None] = dict.fromkeys(TOKENS)
        self.forgotten: set[str] = set()

    def apply(self, events: list[PresenceEvent], at: float, sighted: str | None) -> None:
        for event in events:
            assert event.token in TOKENS, "an event about a shopper never sighted"
            assert event.token not in self.forgotten or event.token == sighted, "an event after forget"
            assert event.at == at
            assert event.dwell_s >= 0
            assert event.distance_m > 0
            current = self.zone[event.token]
            if event.kind == "entered":
                assert current is None, "entered a second zone without leaving the first"
                self.zone[event.token] = event.zone
            elif event.kind == "exited":
                assert current == event.zone, "exited a zone the shopper was not in"
                self.zone[event.token] = None
            else:
                assert current == event.zone, "dwell outside the zone"


@settings(max_examples=150, deadline=None)
@given(steps)
def test_the_engine_keeps_its_invariants(plan: list[See | Tick | Forget]) -> None:
    eng = PresenceEngine(CONFIG.zones, CONFIG.presence)
    model = Model()
    at = T0
    for step in plan:
        if isinstance(step, See):
            at += step.gap_s
            model.forgotten.discard(step.token)
            events = eng.observe(Sighting(step.token, "ibeacon", step.scanner, step.rssi, step.power, at))
            if step.scanner == "gw-9":
                assert events == []
            model.apply(events, at, step.token)
        elif isinstance(step, Tick):
            at += step.gap_s
            model.apply(eng.tick(at), at, None)
        else:
            eng.forget(step.token)
            if step.token in model.zone:
                model.zone[step.token] = None
                model.forgotten.add(step.token)
        for token in (*TOKENS, NEVER):
            assert eng.zone_of(token) == model.zone.get(token)
        occupants = eng.occupants()
        assert len({o.token for o in occupants}) == len(occupants), "a shopper in two zones"
        assert {o.token: o.zone for o in occupants} == {t: z for t, z in model.zone.items() if z is not None}
        for zone in ("baby", "drinks", "checkout"):
            assert {o.token for o in eng.occupants(zone)} == {t for t, z in model.zone.items() if z == zone}


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(-100, -35), gaps), max_size=120))
def test_a_forgotten_shopper_stays_silent_until_seen_again(samples: list[tuple[int, float]]) -> None:
    eng = PresenceEngine(CONFIG.zones, CONFIG.presence)
    at = T0
    for i in range(20):  # certainly inside baby
        eng.observe(Sighting("s-1", "ibeacon", "gw-1", -50, -59.0, T0 + i * 0.25))
    at = T0 + 5
    eng.forget("s-1")
    for rssi, gap in samples:
        at += gap
        assert [e for e in eng.tick(at) if e.token == "s-1"] == []
        eng.observe(Sighting("s-2", "ibeacon", "gw-1", rssi, None, at))
    assert eng.zone_of("s-1") is None
