"""The zone estimator (edge.presence_model): clean traces, a slow lossy card, self-calibration, and
Hypothesis properties whatever the sightings and ticks (the posterior is a distribution; silence never
raises a zone; a scanner of zone A never puts anyone in zone B; one zone at a time; silence always ends
in an exit; nothing about a shopper never sighted)."""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge import constants_model as cm
from edge.advert_rate import PAUSE_MAX_S, AdvertRate
from edge.config import from_mapping
from edge.presence import PresenceEvent, Sighting
from edge.presence_model import ZoneEstimator

CONFIG = from_mapping(
    {
        "zones": [
            {"id": "baby", "scanners": ["gw-1"]},
            {"id": "drinks", "scanners": ["gw-2", "gw-3"]},
            {"id": "checkout", "scanners": ["gw-3"]},
        ]
    }
)
T0 = 1_795_428_000.0
TICK_S = 0.25


def estimator() -> ZoneEstimator:
    return ZoneEstimator(CONFIG.zones, CONFIG.presence)


def run(
    est: ZoneEstimator,
    samples: list[tuple[float, str, int]],
    *,
    token: str = "s-1",
    until: float | None = None,
) -> list[PresenceEvent]:
    """Feed (at, scanner, rssi) in time order, ticking every TICK_S as the core does; all events."""
    events: list[PresenceEvent] = []
    end = until if until is not None else (samples[-1][0] if samples else T0)
    next_tick = T0 + TICK_S
    for at, scanner, rssi in samples:
        while next_tick <= at:
            events += est.tick(next_tick)
            next_tick += TICK_S
        events += est.observe(Sighting(token, "eddystone-eid", scanner, rssi, -59.0, at))
    while next_tick <= end:
        events += est.tick(next_tick)
        next_tick += TICK_S
    return events


def steady(scanner: str, rssi: int, start: float, seconds: float, hz: float = 4.0) -> list[tuple[float, str, int]]:
    n = int(seconds * hz)
    return [(start + i / hz, scanner, rssi) for i in range(n)]


def kinds(events: list[PresenceEvent]) -> list[tuple[str, str]]:
    return [(e.kind, e.zone) for e in events if e.kind != "dwell"]


def test_enter_then_exit_on_silence() -> None:
    est = estimator()
    events = run(est, steady("gw-1", -60, T0, 10.0), until=T0 + 40)
    assert kinds(events) == [("entered", "baby"), ("exited", "baby")]
    entered, exited = (e for e in events if e.kind != "dwell")
    assert entered.at - T0 < 2.0
    assert entered.probability is not None
    assert entered.probability >= cm.MODEL_ENTER_P
    assert 10.0 < exited.at - T0 < 45.0  # the silence floor, then the prior leak (about 30 s)


def test_walking_away_exits_before_the_silence() -> None:
    est = estimator()
    trace = steady("gw-1", -60, T0, 10.0) + steady("gw-1", -85, T0 + 10.0, 10.0)
    events = run(est, trace)
    assert kinds(events) == [("entered", "baby"), ("exited", "baby")]
    assert events[-1].at - (T0 + 10.0) < 4.0


def test_hand_off_between_zones() -> None:
    est = estimator()
    trace = steady("gw-1", -60, T0, 10.0)
    trace += [(T0 + 10.0 + i / 4, s, r) for i in range(40) for s, r in (("gw-1", -85), ("gw-2", -58))]
    events = run(est, trace)
    assert kinds(events) == [("entered", "baby"), ("exited", "baby"), ("entered", "drinks")]
    assert est.zone_of("s-1") == "drinks"
    assert [o.zone for o in est.occupants()] == ["drinks"]


def test_a_slow_lossy_card_standing_still_does_not_flap() -> None:
    """1 Hz, a quarter of its adverts lost, 5 dB of shadowing, 10 minutes at 1.5 m from the scanner."""
    rng = random.Random(7)
    trace = [
        (T0 + i + rng.uniform(0, 0.01), "gw-1", round(-63 + rng.gauss(0, 5)))
        for i in range(600)
        if rng.random() >= 0.25
    ]
    events = run(ZoneEstimator(CONFIG.zones, CONFIG.presence), trace)
    assert kinds(events) == [("entered", "baby")]


@pytest.mark.parametrize("seed", range(8, 12))
def test_a_slow_lossy_card_flaps_at_most_once_in_ten_minutes(seed: int) -> None:
    """The same card on other seeds: silence drifts a shopper out the way they walk (zone, beside it, far),
    so three lost adverts in a row are no exit; a run of quiet adverts may still cost one."""
    rng = random.Random(seed)
    trace = [
        (T0 + i + rng.uniform(0, 0.01), "gw-1", round(-63 + rng.gauss(0, 5)))
        for i in range(600)
        if rng.random() >= 0.25
    ]
    events = run(ZoneEstimator(CONFIG.zones, CONFIG.presence), trace)
    assert sum(1 for kind, _ in kinds(events) if kind == "exited") <= 1


def test_self_calibration_recovers_a_hot_scanner() -> None:
    """Four single-scanner zones; gw-c reads 4 dB hot. A few minutes of shoppers standing in each."""
    config = from_mapping({"zones": [{"id": f"z{i}", "scanners": [f"gw-{i}"]} for i in "abcd"]})
    est = ZoneEstimator(config.zones, config.presence)
    rng = random.Random(3)
    at = T0
    for minute in range(4):
        for i in "abcd":
            token = f"s-{minute}-{i}"
            for _ in range(120):  # 30 s at 4 Hz
                at += 0.25
                rssi = -62 + rng.gauss(0, 5) + (4 if i == "c" else 0)
                est.observe(Sighting(token, "eddystone-eid", f"gw-{i}", round(rssi), -59.0, at))
    offsets = est.scanner_offsets()
    assert offsets["gw-c"] == pytest.approx(-4.0, abs=1.5)
    for i in "abd":
        assert abs(offsets[f"gw-{i}"]) < 1.5
    # learned and reported, not applied: a new shopper is weighed exactly as by an estimator that learned nothing
    fresh = ZoneEstimator(config.zones, config.presence)
    trace = [(at + 1.0 + i * 0.25, "gw-c", -70 + i % 7) for i in range(20)]
    mine = [e for e in run(est, trace, token="s-new") if e.token == "s-new"]
    assert mine == run(fresh, trace, token="s-new")
    assert kinds(mine) == [("entered", "zc")]
    assert est.posterior("s-new") == fresh.posterior("s-new")


def test_self_calibration_applied_corrects_the_hot_scanner() -> None:
    """``[presence] self_calibration = "apply"``: once learned, gw-c's readings are taken 4 dB quieter, so a
    shopper it hears at a level both estimators place near the zone's edge is less sure to be inside it."""
    zones = [{"id": f"z{i}", "scanners": [f"gw-{i}"]} for i in "abcd"]
    applied = from_mapping({"zones": zones, "presence": {"self_calibration": "apply"}})
    reported = from_mapping({"zones": zones})
    assert reported.presence.self_calibration == "report"
    ests = [ZoneEstimator(cfg.zones, cfg.presence) for cfg in (applied, reported)]
    rng = random.Random(3)
    at = T0
    for minute in range(4):
        for i in "abcd":
            for _ in range(120):
                at += 0.25
                rssi = round(-62 + rng.gauss(0, 5) + (4 if i == "c" else 0))
                for est in ests:
                    est.observe(Sighting(f"s-{minute}-{i}", "eddystone-eid", f"gw-{i}", rssi, -59.0, at))
    for est in ests:  # (applied, the confident samples differ a little: each learns about the same)
        assert est.scanner_offsets()["gw-c"] == pytest.approx(-4.0, abs=1.5)
    trace = [(at + 1.0 + i * 0.25, "gw-c", -76) for i in range(3)]
    for est in ests:
        run(est, trace, token="s-new")
    assert ests[0].posterior("s-new")["zc"] < ests[1].posterior("s-new")["zc"]


@pytest.mark.parametrize("positioned", [True, False])
def test_positions_tile_an_aisle(positioned: bool) -> None:
    """Three zones tiling an aisle, a scanner in each; a shopper walking down it visits each in turn -- also
    when the zones' areas are given but not where their scanners are (each zone's scanner is then "near")."""
    config = from_mapping(
        {
            "zones": [
                {"id": f"z{i}", "scanners": [f"gw-{i}"], "area_m": [6.0 * i, 0.0, 6.0 * i + 6.0, 3.0]} for i in range(3)
            ],
            "scanners": [{"id": f"gw-{i}", "x_m": 6.0 * i + 3.0, "y_m": 1.5} for i in range(3)] if positioned else [],
        }
    )
    est = ZoneEstimator(config.zones, config.presence, config.scanners)
    trace = []
    for step in range(4 * 18):  # 1 m/s along y = 1.5, 4 Hz, no noise
        at, x = T0 + step / 4, 0.25 * step
        for i in range(3):
            d = max(0.5, ((x - 6.0 * i - 3.0) ** 2 + 0.8**2) ** 0.5)
            trace.append((at, f"gw-{i}", round(-59 - 22 * math.log10(d))))
    events = run(est, trace)
    assert [z for k, z in kinds(events) if k == "entered"] == ["z0", "z1", "z2"]


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
            st.sampled_from(["gw-1", "gw-2", "gw-3", "gw-9"]),
            st.integers(-100, -35),
            st.floats(0.0, 3.0),
        ),
        st.builds(Tick, st.floats(0.0, 6.0)),
    ),
    max_size=150,
)


@settings(max_examples=60, deadline=None)
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
            before = {t: est.posterior(t) for t in TOKENS}
            events = est.tick(now)
            for token in TOKENS:  # silence never raises a zone's probability
                after = est.posterior(token)
                for key, value in after.items():
                    if key is not None and key in before[token]:
                        assert value <= before[token][key] + 1e-9
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
                assert all(0.0 <= v <= 1.0 + 1e-12 for v in posterior.values())
    # silence always ends in an exit, and nothing about the never-sighted
    final = est.tick(now + 600.0) + est.tick(now + 1200.0)
    assert all(e.token in TOKENS for e in final)
    assert est.occupants() == []
    assert est.posterior("s-never") == {}


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(-100, -30), st.floats(0.0, 3.0)), max_size=120))
def test_heard_only_by_zone_a_never_enters_zone_b(samples: list[tuple[int, float]]) -> None:
    est = estimator()
    now = T0
    for rssi, gap in samples:
        now += gap
        events = est.observe(Sighting("s-1", "ibeacon", "gw-1", rssi, None, now)) + est.tick(now)
        assert all(e.zone == "baby" for e in events)


# --- the layout's places, and the pipeline with the model engine ------------------------------------

SPOTS = from_mapping(
    {
        "zones": [{"id": "a", "scanners": ["gw-a"]}, {"id": "b", "scanners": ["gw-b"]}],
        "scanners": [{"id": "gw-a", "x_m": 0.0, "y_m": 0.0}, {"id": "gw-b", "x_m": 20.0, "y_m": 0.0}],
    }
)


def test_walking_away_from_a_positioned_zone_exits_on_what_is_heard() -> None:
    """Standing 1 m from gw-a, then walking away at 1 m/s, heard all the way: out of zone a (3 m) within 5 s
    of crossing its edge, without waiting for silence -- the surroundings of a are a place. (About 4 s on
    this clean trace: the tempering that keeps a standing shopper in also slows a walking one out.)"""
    est = ZoneEstimator(SPOTS.zones, SPOTS.presence, SPOTS.scanners)
    trace = []
    for step in range(4 * 30):  # 30 s at 4 Hz: 20 s standing at x = 1 m, then walking towards gw-b
        at = T0 + step / 4
        x = 1.0 if at < T0 + 20 else 1.0 + (at - T0 - 20)
        for scanner, sx in (("gw-a", 0.0), ("gw-b", 20.0)):
            d = math.hypot(x - sx, 0.8)
            trace.append((at, scanner, round(-59 - 22 * math.log10(d))))
    events = run(est, trace)
    assert kinds(events)[:2] == [("entered", "a"), ("exited", "a")]
    exited = next(e for e in events if e.kind == "exited")
    assert exited.at - (T0 + 22.0) < 5.0  # crossed the 3 m edge at T0 + 22 s


def test_the_places_are_a_zones_parts_its_surroundings_and_far() -> None:
    est = ZoneEstimator(SPOTS.zones, SPOTS.presence, SPOTS.scanners)
    layout = est._layout
    touches, (a_subs, b_subs) = layout.touches, layout.subs
    assert len(a_subs) > 1  # a zone is split into sub-places (its centre, its edge by side)
    assert any(layout.rings[0] in touches[k] for k in a_subs)  # each zone touches its own surroundings
    assert any(layout.rings[1] in touches[k] for k in b_subs)
    assert layout.outer[0] in touches[layout.rings[0]]  # ... which are a step away, then further
    assert not any(k in touches[j] for j in a_subs for k in b_subs)  # 14 m apart: no walk straight between
    est.observe(Sighting("s-1", "eddystone-eid", "gw-a", -60, -59.0, T0))
    posterior = est.posterior("s-1")
    assert set(posterior) == {None, "a", "b"}
    assert sum(posterior.values()) == pytest.approx(1.0)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(st.integers(-100, -30), st.sampled_from(["gw-1", "gw-2", "gw-3"]), st.floats(0.0, 3.0)),
                max_size=60))  # fmt: skip
def test_nothing_about_an_unrostered_device_through_the_pipeline(samples: list[tuple[int, str, float]]) -> None:
    """The model engine behind the real resolver: adverts of devices not on the roster make no event."""
    import asyncio
    import tempfile
    from pathlib import Path

    import msgspec

    from edge import app
    from edge.beacons.advert import APPLE_COMPANY_ID, Advertisement
    from edge.beacons.build import ibeacon_payload
    from edge.beacons.replay import ItemsSource
    from edge.inputs import Downlink, Item
    from tests.helpers import START, card_advert, roster_bytes

    config = msgspec.structs.replace(CONFIG, presence=msgspec.structs.replace(CONFIG.presence, engine="model"))
    items: list[Item] = [Downlink(START, "cdp/v1/store-1/roster", roster_bytes())]
    at = START
    for index, (rssi, scanner, gap) in enumerate(samples):
        at += gap
        if index % 3 == 0:
            items.append(card_advert(at, rssi, scanner))
        stranger = ibeacon_payload(uuid.UUID(int=index + 1), 1, 2, -59)
        items.append(
            Advertisement(at, scanner, "AA:BB:CC:00:00:01", rssi, manufacturer_data={APPLE_COMPANY_ID: stranger})
        )
    out: list[object] = []
    with tempfile.TemporaryDirectory() as state:
        source = ItemsSource(iter(items), start=START, speed=None)
        asyncio.run(app.run(config, source, sinks=[out.append], fast=True, state_dir=Path(state)))
    tokens = {getattr(e, "data", {}).get("token") for e in out} - {None}
    assert tokens <= {"s-card"}


@pytest.mark.parametrize("seed", range(3))
def test_standing_at_a_zones_edge_holds_the_zone(seed: int) -> None:
    """Two minutes 2.5 m from gw-a (inside zone a's 3 m, at its edge) with 5 dB of shadowing at 2 Hz: the
    zone's edge is a place of its own, so the quiet adverts keep the shopper in a -- entered once, never
    left while heard."""
    rng = random.Random(seed)
    est = ZoneEstimator(SPOTS.zones, SPOTS.presence, SPOTS.scanners)
    trace = []
    for step in range(2 * 120):
        at = T0 + step / 2
        for scanner, sx in (("gw-a", 0.0), ("gw-b", 20.0)):
            d = math.hypot(2.5 - sx, 0.8)
            if rng.random() > 0.2:
                trace.append((at, scanner, round(-59 - 22 * math.log10(d) + rng.gauss(0.0, 5.0))))
    events = [e for e in run(est, trace) if e.kind != "dwell"]
    assert kinds(events) == [("entered", "a")]
    assert events[0].at - T0 < 5.0


def test_a_silence_longer_than_a_pause_grows_unlikely_again() -> None:
    """The floor of the silence likelihood covers a phone's pause (up to PAUSE_MAX_S); beyond it a shopper
    still in the zone and unheard grows less likely again, so a stopped phone is let go."""
    rate = AdvertRate(T0)
    for step in range(1, 40):
        rate.heard(T0 + step * 0.1)
    last = T0 + 3.9
    assert rate.silence_likelihood(last + 0.05) == 1.0
    assert rate.silence_likelihood(last + PAUSE_MAX_S) == pytest.approx(cm.MODEL_SILENCE_FLOOR)
    assert rate.silence_likelihood(last + 2 * PAUSE_MAX_S) < cm.MODEL_SILENCE_FLOOR / 2


def test_ring_out_rate_sends_a_zones_surroundings_onward(monkeypatch: pytest.MonkeyPatch) -> None:
    """RING_OUT_RATE_HZ (off by default, docs/presence.md "Exits") is the rate from beside a zone outward: raised to a
    walker's, mass beside a zone walks on instead of staying to be pulled back in; into the zone is unchanged."""
    import edge.presence_model_moves as pm  # the motion model's rates live there

    def after_one_second(rate: float) -> tuple[float, float]:
        monkeypatch.setattr(pm, "RING_OUT_RATE_HZ", rate)
        est = estimator()
        ring = est._layout.rings[0]
        p = [0.0] * est._layout.places
        p[ring] = 1.0
        est._predict(p, 1.0)
        assert math.isclose(p[ring], math.exp(-est._rates[est._rate_of[ring]]))  # keeps exp(-its total rate)
        lo, hi = est._spans[0]
        return p[ring], sum(p[lo:hi])

    stay_default, in_default = after_one_second(pm.AISLE_RATE_HZ)
    stay_walker, in_walker = after_one_second(0.2)
    assert stay_walker < stay_default
    assert in_walker < in_default  # less is left beside the zone to walk in
