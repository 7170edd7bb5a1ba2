"""The threshold engine's hand-off forgets (issues #13 and #18, session 23), on a clock moved by hand.

The hand-off's sequential test (edge.presence_sure.LeadTest) remembers the leads of the last
HANDOFF_LEAD_MEMORY_S only: a shopper who stood a minute on zone ``a``'s side of the boundary (zone ``b``
at its enter threshold all along, 6 dB behind) hands off soon after she crosses, not a minute later; one
standing between the two zones after that stand is still never handed off; a deep fade is forgotten.
And just after an exit that pre-empted the hand-off, the adverts of the zone left join the test too.
"""

from __future__ import annotations

import math

import pytest

from edge import constants as c
from edge.config import from_mapping
from edge.presence import PresenceEngine, PresenceEvent, Sighting
from edge.presence_sure import LeadTest

CONFIG = from_mapping({"zones": [{"id": "a", "scanners": ["gw-1"]}, {"id": "b", "scanners": ["gw-2"]}]})
T0 = 1_795_428_000.0
HZ = 4.0
NOISE_DB = (5, -4, 1, -6, 3, 0, -2, 6, -3, 2, -5, 4, -1)
"""Per-advert noise, a fixed pattern (mean 0, spread 3.9 dB): each zone reads it in its own order."""
LOUD_DBM = -60
"""The nearer zone's level, well over both zones' enter thresholds (-71.5 dBm here)."""
STAND_S = 60.0
"""The stand on zone a's side, b 6 dB behind but at its enter threshold: 480 leads of -6 dB."""


class _Walk:
    """One shopper heard by both zones' scanners at HZ, each advert with the noise pattern."""

    def __init__(self) -> None:
        self.eng = PresenceEngine(CONFIG.zones, CONFIG.presence)
        self.at = T0
        self.i = 0

    def step(self, a_dbm: float, b_dbm: float) -> list[PresenceEvent]:
        i, at = self.i, self.at
        a = a_dbm + NOISE_DB[i % len(NOISE_DB)]
        b = b_dbm + NOISE_DB[(5 * i + 3) % len(NOISE_DB)]
        events = self.eng.observe(Sighting("s-1", "ibeacon", "gw-1", a, -59.0, at))
        events += self.eng.observe(Sighting("s-1", "ibeacon", "gw-2", b, -59.0, at + 0.125))
        events += self.eng.tick(at + 0.126)
        self.i += 1
        self.at += 1 / HZ
        return events

    def stand(self, a_dbm: float, b_dbm: float, seconds: float) -> float | None:
        """Seconds until the hand-off to b (None: none in ``seconds``)."""
        start = self.at
        for _ in range(int(seconds * HZ)):
            at = self.at
            if any(e.kind == "entered" and e.zone == "b" for e in self.step(a_dbm, b_dbm)):
                return at - start
        return None


def _after_a_stand() -> _Walk:
    walk = _Walk()
    for _ in range(int(3 * HZ)):  # in zone a, b unheard
        walk.eng.observe(Sighting("s-1", "ibeacon", "gw-1", LOUD_DBM, -59.0, walk.at))
        walk.eng.tick(walk.at)
        walk.at += 1 / HZ
    assert walk.eng.zone_of("s-1") == "a"
    assert walk.stand(LOUD_DBM, LOUD_DBM - 6, STAND_S) is None  # b at its bar, 6 dB behind: no hand-off
    assert walk.eng.zone_of("s-1") == "a"
    return walk


def test_a_crossing_after_a_long_stand_on_the_old_side_hands_off_within_three_seconds() -> None:
    walk = _after_a_stand()
    after = walk.stand(LOUD_DBM - 6, LOUD_DBM, 20.0)  # crossed: b 6 dB ahead
    assert after is not None
    assert after <= 3.0


def test_without_the_memory_the_stand_holds_the_crossing_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(c, "HANDOFF_LEAD_MEMORY_S", math.inf)  # the rule before: every lead since b's bar
    walk = _after_a_stand()
    assert walk.stand(LOUD_DBM - 6, LOUD_DBM, 20.0) is None  # 480 leads of -6 dB outweigh 20 s of +6


@pytest.mark.parametrize("lead_db", [0.0, 1.0, 2.0])
def test_a_shopper_standing_between_after_the_stand_is_not_handed_off(lead_db: float) -> None:
    walk = _after_a_stand()
    assert walk.stand(LOUD_DBM - 2, LOUD_DBM - 2 + lead_db, 120.0) is None
    assert walk.eng.zone_of("s-1") == "a"


def test_the_lead_test_forgets_what_is_older_than_its_memory() -> None:
    test = LeadTest()
    for k in range(4):  # a deep fade: four -30 dB leads
        test.add(-30.0, k * 0.25)
    late = c.HANDOFF_LEAD_MEMORY_S + 1.0
    for k in range(3):
        test.add(6.0 + (-1) ** k, late + k * 0.25)
    assert test.n == 3  # the fade has left the sums
    assert test.passed(3)
    test.add(6.0, late + c.HANDOFF_LEAD_MEMORY_S)  # the lead at `late` is exactly the memory old: kept
    assert test.n == 4
    test.clear()
    assert test.n == 0
    assert not test.leads


def test_after_a_pre_empted_exit_the_old_zones_adverts_join_the_test() -> None:
    """10 s near a's scanner, then a falls to -75 dBm and b leads it by 4 dB: a's exit fires before the test
    on b passes; from then to b's entry each advert of a is one more lead, as it was before the exit."""
    walk = _Walk()
    for _ in range(int(10 * HZ)):
        walk.eng.observe(Sighting("s-1", "ibeacon", "gw-1", -58, -59.0, walk.at))
        walk.eng.tick(walk.at)
        walk.at += 1 / HZ
    track = walk.eng._tracks["s-1"]
    counted = 0
    for i in range(int(10 * HZ)):
        at = walk.at
        a = -75 + NOISE_DB[(i + 5) % len(NOISE_DB)]
        b = -75 + 4 + NOISE_DB[(3 * i + 8) % len(NOISE_DB)]
        before = track.lead.n
        walk.eng.observe(Sighting("s-1", "ibeacon", "gw-1", a, -59.0, at))
        if track.zone is None and track.candidate is not None and track.candidate.id == "b":
            assert track.lead.n == before + 1  # a's advert, against b's fast level
            counted += 1
        events = walk.eng.observe(Sighting("s-1", "ibeacon", "gw-2", b, -59.0, at + 0.125))
        events += walk.eng.tick(at + 0.126)
        walk.at += 1 / HZ
        if any(e.kind == "entered" and e.zone == "b" for e in events):
            break
    assert walk.eng.zone_of("s-1") == "b"
    assert counted >= 1
