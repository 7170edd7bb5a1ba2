"""The threshold engine's default enter bar follows the zone's size (edge.presence._enter_bar).

ENTER_RSSI_DBM is set for the default zone, the 3 m disc around its scanner. A smaller zone -- a
5 x 2.5 m shelf zone beside a walkway -- has its bar where the disc of the same floor area would
(the config's path-loss exponent), so a shopper walking past 3.25 m from its scanner, outside the
zone, is not an entry; a larger zone keeps the default, and an operator's own threshold is kept.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from edge import constants as c
from edge.config import from_mapping
from edge.presence import PresenceEngine, PresenceEvent, Sighting

T0 = 1_795_428_000.0
TICK_S = 0.25
ADVERT_S = 0.25
SHELF_M = (0.0, 0.0, 5.0, 2.5)
"""A shelf zone of the sweep's L-shaped store: 12.5 m², the disc of that area 2.0 m in radius."""


def engine(**zone: Any) -> PresenceEngine:
    config = from_mapping({"zones": [{"id": "shelf", "scanners": ["gw-1"], **zone}]})
    return PresenceEngine(config.zones, config.presence)


def heard(eng: PresenceEngine, rssi: int, seconds: float = 6.0) -> list[PresenceEvent]:
    """A phone heard at a steady ``rssi`` (4 Hz, the reference phone's power) for ``seconds``."""
    events: list[PresenceEvent] = []
    t = T0
    while t < T0 + seconds:
        events += eng.observe(Sighting("s-1", "ibeacon", "gw-1", rssi, c.MEASURED_POWER_1M_DBM, t))
        t += ADVERT_S
        events += eng.tick(t)
    return events


def entered(events: list[PresenceEvent]) -> bool:
    return any(e.kind == "entered" for e in events)


def test_the_bar_of_a_small_zone_is_that_of_the_disc_of_its_area() -> None:
    eng = engine(area_m=list(SHELF_M))
    reach_m = math.sqrt(5.0 * 2.5 / math.pi)
    expected = c.ENTER_RSSI_DBM + 10 * c.PATH_LOSS_EXPONENT * math.log10(c.ZONE_RADIUS_M / reach_m)
    assert eng._zones["shelf"].enter == pytest.approx(expected)
    assert 3.5 < expected - c.ENTER_RSSI_DBM < 4.5  # about 3.9 dB
    assert eng._zones["shelf"].exit == c.EXIT_RSSI_DBM  # the exit threshold is not moved


def test_a_shopper_passing_a_small_zone_does_not_enter_it() -> None:
    # -69 dBm: 2.6 m from the reference phone (n = 2.2), inside the default bar's 3.1 m
    assert entered(heard(engine(), -69))  # the default 3 m disc: an entry
    assert not entered(heard(engine(area_m=list(SHELF_M)), -69))  # the 5 x 2.5 m shelf: not yet
    assert entered(heard(engine(area_m=list(SHELF_M)), -64))  # at its shelf: an entry


def test_a_small_disc_is_raised_too_and_a_large_zone_keeps_the_default() -> None:
    assert not entered(heard(engine(radius_m=2.0), -69))
    big = engine(area_m=[0.0, 0.0, 7.0, 7.0])  # the corner zone: larger than the default disc
    assert big._zones["shelf"].enter == c.ENTER_RSSI_DBM
    assert entered(heard(big, -71))


def test_an_operators_own_threshold_is_kept() -> None:
    eng = engine(area_m=list(SHELF_M), enter_rssi_dbm=-72.0)
    assert eng._zones["shelf"].enter == -72.0
    assert entered(heard(eng, -69))
