"""The threshold engine learns a miscalibrated scanner's offset from rostered traffic (edge.presence_offsets).

Four spot zones 14 m apart, shoppers standing half a minute in each: another zone's scanner hears a shopper
settled in a zone at the path-loss relation's level for the 14 m between them, and a scanner reading 4 dB hot
departs from it by 4 dB. Pure core, clock injected (sighting times and ticks).
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import msgspec
import pytest

from edge.config import PresenceConfig, ScannerConfig, ZoneConfig, from_mapping
from edge.presence import PresenceEngine, Sighting
from edge.presence_offsets import APPLY_DB, MIN_VISITS, OffsetLearner
from edge.presence_track import ShopperTrack

T0 = 1_795_428_000.0
HZ = 4.0
SPOTS = {"a": (0.0, 0.0), "b": (14.0, 0.0), "c": (0.0, 14.0), "d": (14.0, 14.0)}
"""Zone id -> its scanner's position (m): neighbours 14 m apart, the diagonals 19.8 m (beyond FAR_M)."""


def config(positioned: bool = True) -> tuple[list[ZoneConfig], PresenceConfig, list[ScannerConfig]]:
    loaded = from_mapping(
        {
            "zones": [{"id": z, "scanners": [f"scn-{z}"]} for z in SPOTS],
            "scanners": [{"id": f"scn-{z}", "x_m": x, "y_m": y} for z, (x, y) in SPOTS.items()] if positioned else [],
        }
    )
    return list(loaded.zones), loaded.presence, list(loaded.scanners)


def store(seed: int, hot: dict[str, float], shoppers: int = 24) -> list[Sighting]:
    """Each shopper stands 30 s in each zone in turn (somewhere within 2 m of its scanner), 10 s silent between."""
    rng = random.Random(seed)
    found: list[Sighting] = []
    for index in range(shoppers):
        token = f"s-{index}"
        at = T0 + index * 7.0
        for zone in rng.sample(list(SPOTS), k=4):
            cx, cy = SPOTS[zone]
            angle, r = rng.uniform(0.0, 2 * math.pi), rng.uniform(0.0, 2.0)
            x, y = cx + r * math.cos(angle), cy + r * math.sin(angle)
            for _ in range(int(30 * HZ)):
                for other, (sx, sy) in SPOTS.items():
                    scanner = f"scn-{other}"
                    distance = math.sqrt((x - sx) ** 2 + (y - sy) ** 2 + 0.8**2)
                    level = -59.0 - 22.0 * math.log10(distance) + rng.gauss(0.0, 5.0) + hot.get(scanner, 0.0)
                    if rng.random() < 0.8 and level >= -95.0:
                        found.append(Sighting(token, "app", scanner, round(level), -59.0, at))
                at += 1 / HZ
            at += 10.0
    found.sort(key=lambda s: s.at)
    return found


def run(engine: PresenceEngine, sightings: list[Sighting]) -> None:
    next_tick = T0
    for sighting in sightings:
        while next_tick <= sighting.at:
            engine.tick(next_tick)
            next_tick += 0.25
        engine.observe(sighting)
    for _ in range(200):  # the last visits end
        engine.tick(next_tick)
        next_tick += 0.25


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_scanner_4_db_hot_is_learned_and_corrected(seed: int) -> None:
    engine = PresenceEngine(*config())
    run(engine, store(seed, {"scn-b": 4.0}))
    radio = engine.radio()
    assert radio["offset_applied_db:scn-b"] == pytest.approx(-4.0, abs=1.0)
    assert radio["offset_db:scn-b"] == pytest.approx(-4.0, abs=1.0)
    for other in ("scn-a", "scn-c", "scn-d"):
        assert radio[f"offset_applied_db:{other}"] == 0.0
        assert abs(radio[f"offset_db:{other}"] or 0.0) < APPLY_DB


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_where_no_scanner_is_off_nothing_is_applied(seed: int) -> None:
    engine = PresenceEngine(*config())
    run(engine, store(seed, {}))
    radio = engine.radio()
    assert {k for k in radio if k.startswith("offset_applied_db:")} == {f"offset_applied_db:scn-{z}" for z in SPOTS}
    assert all(v == 0.0 for k, v in radio.items() if k.startswith("offset_applied_db:"))


def test_without_scanner_positions_nothing_is_learned() -> None:
    engine = PresenceEngine(*config(positioned=False))
    assert not engine._offsets.learning
    run(engine, store(1, {"scn-b": 4.0}, shoppers=4))
    assert engine.radio() == {}


def test_a_visit_counts_once_it_is_over_and_a_withdrawn_one_never() -> None:
    """A visit's running sums live on the shopper's track: closed into the scanner's statistic when it ends,
    dropped with the track when consent is withdrawn (the learner keeps no token)."""
    zones, _, scanners = config()
    learner = OffsetLearner(zones, scanners, 2.2, -59.0)
    expected = -59.0 - 22.0 * math.log10(math.sqrt(14.0**2 + 0.8**2))
    for visit in range(MIN_VISITS):
        track = ShopperTrack("app", -59.0)
        for scanner in ("scn-b", "scn-c"):  # the zone a's neighbours, as heard from zone a
            for _ in range(6):
                level = expected + (4.0 if scanner == "scn-b" else 0.0)
                learner.sample(track, T0 + visit, scanner, level, learner.expected("a")[scanner])
        for scanner in ("scn-a", "scn-d"):
            for _ in range(6):
                mean = learner.expected("b")[scanner]
                learner.sample(track, T0 + visit + 0.5, scanner, expected, mean)  # (a new visit: a's closed)
        assert track.cal  # the second visit still open
        learner.close(track)
        assert not track.cal
    assert learner.estimate == pytest.approx({"scn-a": 0.0, "scn-b": -4.0, "scn-c": 0.0, "scn-d": 0.0})
    assert learner.applied == {"scn-b": -4.0}  # no spread at all: sure at once
    withdrawn = ShopperTrack("app", -59.0)
    for _ in range(6):
        learner.sample(withdrawn, T0 + 99.0, "scn-b", expected + 20.0, expected)
    assert withdrawn.cal  # held on the track only; the engine's forget() drops the track with it
    assert learner.estimate["scn-b"] == pytest.approx(-4.0)


def test_learn_offsets_false_learns_nothing() -> None:
    """``[presence] learn_offsets = false``: only the configured ``offset_db``; ``edge doctor`` says why."""
    from edge.ops.checks import check_radio
    from edge.sim.store import default_config

    zones, presence, scanners = config()
    off = msgspec.structs.replace(presence, learn_offsets=False)
    engine = PresenceEngine(zones, off, scanners)
    assert not engine.learns_offsets
    run(engine, store(1, {"scn-b": 4.0}, shoppers=8))
    assert engine.radio() == {}
    told = default_config("threshold")
    told = msgspec.structs.replace(told, presence=msgspec.structs.replace(told.presence, learn_offsets=False))
    row = check_radio(told, Path("/"))
    assert (row.status, row.detail) == ("skip", "the threshold engine learns no scanner offsets here ([presence] "
                                        "learn_offsets = false)")  # fmt: skip


def test_a_scanner_recalibrated_later_is_learned_again() -> None:
    """A scanner 4 dB hot for 1,200 visits, then put right: 400 visits later its offset is taken back (VISITS_KEPT:
    the statistic weighs its last few hundred visits; over every visit since the start it would still read -3 dB)."""
    zones, _, scanners = config()
    learner = OffsetLearner(zones, scanners, 2.2, -59.0)
    rng = random.Random(1)

    def visit(k: int, hot: float) -> None:
        track = ShopperTrack("app", -59.0)
        for zone, heard in (("a", ("scn-b", "scn-c")), ("d", ("scn-b", "scn-c"))):
            expected = learner.expected(zone)
            for scanner in heard:
                for _ in range(6):
                    level = expected[scanner] + rng.gauss(0.0, 3.0) + (hot if scanner == "scn-b" else 0.0)
                    learner.sample(track, T0 + k + (0.5 if zone == "d" else 0.0), scanner, level, expected[scanner])
        for zone, heard in (("b", ("scn-a", "scn-d")), ("c", ("scn-a", "scn-d"))):
            expected = learner.expected(zone)
            for scanner in heard:
                for _ in range(6):
                    level = expected[scanner] + rng.gauss(0.0, 3.0)
                    learner.sample(track, T0 + k + (0.7 if zone == "c" else 0.6), scanner, level, expected[scanner])
        learner.close(track)

    for k in range(1200):
        visit(k, 4.0)
    assert learner.applied == {"scn-b": pytest.approx(-4.0, abs=0.5)}
    for k in range(1200, 1600):
        visit(k, 0.0)
    assert learner.applied == {}
    assert abs(learner.estimate["scn-b"]) < APPLY_DB
