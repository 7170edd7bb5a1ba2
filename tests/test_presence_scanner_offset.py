"""A scanner's configured ``offset_db`` corrects every reading it reports, in the default engine too.

``[[scanners]] offset_db`` (``edge calibrate --scanner``) was read by the model and grid engines only: the
threshold engine, the default, judged a scanner that reads 4 dB hot by its raw readings, so its zone entered
passers-by and held leavers, whatever the operator had measured. Pure core, clock injected.
"""

from __future__ import annotations

import math
import random

from edge.config import from_mapping
from edge.presence import PresenceEngine, PresenceEvent, Sighting

T0 = 1_795_428_000.0
HZ = 4.0
HOT_DB = 4.0
"""How much louder than the reference the miscalibrated scanner reads (the sweep's cells [23], [25])."""


def engine(offset_db: float = 0.0) -> PresenceEngine:
    loaded = from_mapping(
        {
            "zones": [{"id": "baby", "scanners": ["gw-1"]}, {"id": "wine", "scanners": ["gw-2"]}],
            "scanners": [
                {"id": "gw-1", "x_m": 0.0, "y_m": 0.0, "offset_db": offset_db},
                {"id": "gw-2", "x_m": 8.0, "y_m": 0.0},
            ],
        }
    )
    return PresenceEngine(list(loaded.zones), loaded.presence, loaded.scanners)


def level(distance_m: float) -> float:
    """The reference phone's mean RSSI at ``distance_m`` (3-D: the scanner hangs 1 m above the phone)."""
    return -59.0 - 22.0 * math.log10(math.hypot(distance_m, 1.0))


def walk(seed: int, hot_db: float) -> list[tuple[float, str, int]]:
    """A 4 Hz phone walking past both scanners at 1 m/s, stopping 20 s at gw-1: (time, scanner, rssi)."""
    rng = random.Random(seed)
    heard: list[tuple[float, str, int]] = []
    x, at = -10.0, T0
    while x < 18.0:
        for scanner, sx, hot in (("gw-1", 0.0, hot_db), ("gw-2", 8.0, 0.0)):
            if rng.random() < 0.8:  # a fifth of adverts missed
                heard.append((at, scanner, round(level(x - sx) + hot + rng.gauss(0.0, 4.0))))
        at += 1 / HZ
        x += 0.0 if T0 + 10.0 <= at < T0 + 30.0 else 1 / HZ
    return heard


def run(eng: PresenceEngine, heard: list[tuple[float, str, int]]) -> list[PresenceEvent]:
    events: list[PresenceEvent] = []
    for at, scanner, rssi in heard:
        events += eng.observe(Sighting("s-1", "app", scanner, rssi, -59.0, at))
        events += eng.tick(at + 0.01)
    return [e for e in events if e.kind != "dwell"]


def test_a_hot_scanner_with_its_offset_behaves_as_a_true_one() -> None:
    """Every event, its time and its zone, as if the scanner read true; the level carried is the corrected one."""
    for seed in range(10):
        true = run(engine(), walk(seed, 0.0))
        corrected = run(engine(-HOT_DB), walk(seed, HOT_DB))
        assert [(e.kind, e.zone, e.at, e.rssi) for e in corrected] == [(e.kind, e.zone, e.at, e.rssi) for e in true]


def test_a_hot_scanner_without_its_offset_enters_sooner() -> None:
    """The rule's point: uncorrected, the hot scanner's zone is entered from further away (earlier) on most walks."""
    sooner = 0
    for seed in range(10):
        true = run(engine(), walk(seed, 0.0))
        hot = run(engine(), walk(seed, HOT_DB))
        true_at = next(e.at for e in true if e.kind == "entered" and e.zone == "baby")
        hot_at = next(e.at for e in hot if e.kind == "entered" and e.zone == "baby")
        sooner += hot_at < true_at
    assert sooner >= 7


def test_no_offset_configured_costs_nothing() -> None:
    """Scanners without an offset leave the engine's table empty (the hot path's one test)."""
    assert engine()._calibration == {}
    assert engine(-HOT_DB)._calibration == {"gw-1": -HOT_DB}
