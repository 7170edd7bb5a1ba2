"""The exit threshold follows the zone's edge (the threshold engine, edge.presence_reach.exit_bar).

EXIT_RSSI_DBM lies 3.7 dB below the level at the default zone's edge (a 3 m disc under a scanner
0.8 m over the phone). Under a scanner hung 2.3 m over the phone the same disc's edge is 3.8 m away
in 3-D, 1.9 dB weaker, so a shopper standing at the edge read only 1.8 dB above the exit threshold
and shadowing split the visit (the sweep's "scanners 2.5 m above the phones": 114 of 121 spurious
visits in seeds 1-3 were a shopper truly in the zone, let go and taken back). A larger zone's furthest
corner is further off too. Its exit threshold is lowered by 10 n log10(d_furthest / d_default_edge) dB,
never raised; an operator who set the enter bar keeps the configured exit threshold. Pure core,
clock injected (sighting times and ticks).
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from edge import constants as c
from edge import constants_model as cm
from edge.config import ZoneConfig, from_mapping
from edge.presence import PresenceEngine, PresenceEvent, Sighting
from edge.presence_reach import exit_bar

T0 = 1_795_428_000.0
HZ = 4.0
TICK_S = 0.25
HIGH_M = 3.5
"""A scanner hung 3.5 m up: 2.3 m over a phone held at MODEL_DEVICE_HEIGHT_M."""
STRONG_DBM = -62
"""Walking in near the scanner: well over the enter bar."""
EDGE_DBM = -74.5
"""Standing 3.0 m across the floor from a scanner 2.3 m over the phone (3.8 m in 3-D), less 1-2 dB of
shadowing: inside the zone, yet below EXIT_RSSI_DBM (-73.5)."""


def config(height_m: float, **zone: Any) -> tuple[list[ZoneConfig], Any]:
    mapping: dict[str, Any] = {
        "zones": [{"id": "baby", "scanners": ["gw-1"], **zone}],
        "scanners": [{"id": "gw-1", "x_m": 0.0, "y_m": 0.0, "height_m": height_m}],
    }
    loaded = from_mapping(mapping)
    return list(loaded.zones), loaded


def engine(height_m: float, **zone: Any) -> PresenceEngine:
    zones, loaded = config(height_m, **zone)
    return PresenceEngine(zones, loaded.presence, loaded.scanners)


def heard(eng: PresenceEngine, levels: list[float], start: float) -> list[PresenceEvent]:
    """A 4 Hz phone heard at ``levels`` in turn by the zone's scanner, the timers ticked every TICK_S."""
    events: list[PresenceEvent] = []
    for i, level in enumerate(levels):
        at = start + i / HZ
        events += eng.observe(Sighting("s-1", "ibeacon", "gw-1", round(level), -59.0, at))
        events += eng.tick(at + 0.01)
    return events


def changes(events: list[PresenceEvent]) -> list[tuple[str, str]]:
    return [(e.kind, e.zone) for e in events if e.kind != "dwell"]


def stand_at_the_edge(eng: PresenceEngine) -> list[PresenceEvent]:
    """Walk in strong for 5 s, then stand at the zone's edge for 20 s (levels within 1 dB of EDGE_DBM)."""
    events = heard(eng, [STRONG_DBM] * 20, T0)
    wobble = [EDGE_DBM + (1.0 if i % 2 else -1.0) for i in range(80)]
    return events + heard(eng, wobble, T0 + 5.0)


def test_a_shopper_at_the_edge_under_a_high_scanner_stays() -> None:
    """Under a scanner 2.3 m over the phone: one visit (the fixed -73.5 dBm let her go at once)."""
    eng = engine(HIGH_M)
    events = stand_at_the_edge(eng)
    assert changes(events) == [("entered", "baby")]
    assert eng.zone_of("s-1") == "baby"


def test_the_same_levels_under_a_default_scanner_are_out() -> None:
    """At the default height those levels are 4.9 m across, beyond the zone's exit radius: she is out."""
    eng = engine(cm.SCANNER_HEIGHT_M)
    events = stand_at_the_edge(eng)
    assert changes(events) == [("entered", "baby"), ("exited", "baby")]


def test_walking_out_under_a_high_scanner_still_exits() -> None:
    """A shopper who walks away (the level falls 1 dB an advert to -90) is still let go."""
    eng = engine(HIGH_M)
    events = heard(eng, [STRONG_DBM] * 20, T0)
    events += heard(eng, [max(STRONG_DBM - i, -90) for i in range(40)], T0 + 5.0)
    assert changes(events) == [("entered", "baby"), ("exited", "baby")]


def test_the_exit_threshold_is_lowered_by_the_edges_distance() -> None:
    """10 n log10(sqrt(r^2 + h^2) / sqrt(R^2 + h0^2)): 1.9 dB at 2.3 m over the phone, none at the default."""
    zones, loaded = config(HIGH_M)
    n = loaded.presence.path_loss_exponent
    h0 = cm.SCANNER_HEIGHT_M - cm.MODEL_DEVICE_HEIGHT_M
    expected = 10.0 * n * math.log10(math.hypot(3.0, HIGH_M - 1.2) / math.hypot(cm.ZONE_RADIUS_M, h0))
    assert exit_bar(zones[0], n, loaded.scanners) == pytest.approx(c.EXIT_RSSI_DBM - expected)
    assert expected == pytest.approx(1.88, abs=0.01)
    default, loaded = config(cm.SCANNER_HEIGHT_M)
    assert exit_bar(default[0], n, loaded.scanners) == c.EXIT_RSSI_DBM


def test_a_larger_zone_lowers_it_a_smaller_one_keeps_it() -> None:
    """Read at the zone's furthest corner (half its diagonal): a 7 x 7 m corner zone (4.95 m) is lowered
    4.6 dB, a 4 x 3 m tile under the high scanner (2.5 m) 0.9 dB; a 5 x 2.5 m shelf (2.8 m) keeps it."""
    n = c.PATH_LOSS_EXPONENT
    corner, loaded = config(cm.SCANNER_HEIGHT_M, area_m=[0.0, 0.0, 7.0, 7.0])
    assert exit_bar(corner[0], n, loaded.scanners) == pytest.approx(c.EXIT_RSSI_DBM - 4.58, abs=0.01)
    tile, loaded = config(HIGH_M, area_m=[0.0, 0.0, 4.0, 3.0])
    assert exit_bar(tile[0], n, loaded.scanners) == pytest.approx(c.EXIT_RSSI_DBM - 0.86, abs=0.01)
    shelf, loaded = config(cm.SCANNER_HEIGHT_M, area_m=[0.0, 0.0, 5.0, 2.5])
    assert exit_bar(shelf[0], n, loaded.scanners) == c.EXIT_RSSI_DBM


def test_an_operators_enter_bar_keeps_the_configured_exit() -> None:
    """The operator set the zone's bounds by hand: her exit threshold is kept, however high the scanner."""
    zones, loaded = config(HIGH_M, enter_rssi_dbm=-70.0, exit_rssi_dbm=-73.0)
    assert exit_bar(zones[0], loaded.presence.path_loss_exponent, loaded.scanners) == -73.0
    eng = engine(HIGH_M, enter_rssi_dbm=-70.0, exit_rssi_dbm=-73.0)
    assert eng._zones["baby"].exit == -73.0


def test_an_operators_exit_bar_is_kept() -> None:
    """An ``exit_rssi_dbm`` written is the operator's, even with the enter bar derived and a high scanner, even
    when it equals the default; unset, the same zone's exit threshold is lowered."""
    n = c.PATH_LOSS_EXPONENT
    written, loaded = config(HIGH_M, exit_rssi_dbm=c.EXIT_RSSI_DBM)
    assert exit_bar(written[0], n, loaded.scanners) == c.EXIT_RSSI_DBM
    unset, loaded = config(HIGH_M)
    assert exit_bar(unset[0], n, loaded.scanners) < c.EXIT_RSSI_DBM
    assert engine(HIGH_M, exit_rssi_dbm=-74.0)._zones["baby"].exit == -74.0
