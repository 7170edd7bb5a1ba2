"""The threshold engine's derived enter bar (edge.presence_reach.enter_bar, issue #13).

ENTER_RSSI_DBM is set for the default zone, the 3 m disc around its scanner. A zone whose
``enter_rssi_dbm`` is left unset and that is smaller -- a 5 x 2.5 m shelf zone beside a walkway --
has its bar where the disc of the same floor area would, in 3-D with the scanner's height above the
phone, so a shopper walking past 3.25 m from its scanner, outside the zone, is not an entry; a larger
zone keeps the default; an operator's own threshold is kept, even one equal to the default.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from edge import constants as c
from edge import constants_model as cm
from edge.config import from_mapping
from edge.presence import PresenceEngine, PresenceEvent, Sighting
from edge.presence_reach import enter_bar

T0 = 1_795_428_000.0
ADVERT_S = 0.25
SHELF_M = (0.0, 0.0, 5.0, 2.5)
"""A shelf zone of the sweep's L-shaped store: 12.5 m², the disc of that area 2.0 m in radius."""


def engine(height_m: float | None = None, **zone: Any) -> PresenceEngine:
    mapping: dict[str, Any] = {"zones": [{"id": "shelf", "scanners": ["gw-1"], **zone}]}
    if height_m is not None:
        mapping["scanners"] = [{"id": "gw-1", "x_m": 2.5, "y_m": 0.0, "height_m": height_m}]
    config = from_mapping(mapping)
    return PresenceEngine(config.zones, config.presence, config.scanners)


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


def shift_db(reach_m: float, above_m: float) -> float:
    default_above_m = cm.SCANNER_HEIGHT_M - cm.MODEL_DEVICE_HEIGHT_M
    ratio = math.hypot(cm.ZONE_RADIUS_M, default_above_m) / math.hypot(reach_m, above_m)
    return max(10 * c.PATH_LOSS_EXPONENT * math.log10(ratio), 0.0)


def test_the_bar_of_a_small_zone_is_that_of_the_disc_of_its_area_in_3d() -> None:
    eng = engine(area_m=list(SHELF_M))
    reach_m = math.sqrt(5.0 * 2.5 / math.pi)
    above_m = cm.SCANNER_HEIGHT_M - cm.MODEL_DEVICE_HEIGHT_M  # no positioned scanner: the default height
    assert eng._zones["shelf"].enter == pytest.approx(c.ENTER_RSSI_DBM + shift_db(reach_m, above_m))
    assert 3.3 < eng._zones["shelf"].enter - c.ENTER_RSSI_DBM < 3.7  # about 3.5 dB
    assert eng._zones["shelf"].exit == c.EXIT_RSSI_DBM  # the exit threshold is not moved


def test_a_higher_scanner_shifts_the_bar_less() -> None:
    low = engine(area_m=list(SHELF_M), height_m=2.0)._zones["shelf"].enter
    high = engine(area_m=list(SHELF_M), height_m=2.5)._zones["shelf"].enter
    reach_m = math.sqrt(5.0 * 2.5 / math.pi)
    assert high == pytest.approx(c.ENTER_RSSI_DBM + shift_db(reach_m, 2.5 - cm.MODEL_DEVICE_HEIGHT_M))
    assert c.ENTER_RSSI_DBM < high < low  # about 2.5 dB under a 2.5 m scanner, 3.5 under a 2 m one


def test_under_a_high_scanner_a_tile_keeps_about_the_default_bar() -> None:
    tile = engine(area_m=[0.0, 0.0, 4.0, 3.0], height_m=3.5)._zones["shelf"].enter  # 2.3 m above the phone
    assert c.ENTER_RSSI_DBM <= tile < c.ENTER_RSSI_DBM + 0.5
    assert engine(radius_m=2.9, height_m=3.5)._zones["shelf"].enter == c.ENTER_RSSI_DBM  # never lowered


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


def test_an_operators_own_threshold_is_kept_even_the_default_value() -> None:
    eng = engine(area_m=list(SHELF_M), enter_rssi_dbm=-72.0)
    assert eng._zones["shelf"].enter == -72.0
    assert entered(heard(eng, -69))
    explicit = engine(area_m=list(SHELF_M), enter_rssi_dbm=c.ENTER_RSSI_DBM)
    assert explicit._zones["shelf"].enter == c.ENTER_RSSI_DBM  # -71.5 written out is the operator's
    assert entered(heard(explicit, -69))


def test_every_reader_gets_the_same_bar() -> None:
    config = from_mapping({"zones": [{"id": "shelf", "scanners": ["gw-1"], "area_m": list(SHELF_M)}]})
    (zone,) = config.zones
    eng = PresenceEngine(config.zones, config.presence)
    assert eng._zones["shelf"].enter == enter_bar(zone, config.presence.path_loss_exponent)
