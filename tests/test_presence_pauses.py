"""A store learns its phones' pauses from all of them (edge.presence_pauses, the threshold engine, session 33).

Before, a pause held a shopper's later silences only once that shopper's own phone had paused: every shopper's first
pause standing at a zone's edge was an exit and an entry. Now a pause heard from one phone holds the silences of every
advertiser of its kind (``Sighting.via``) in the store -- as long as the longest of the last PAUSES_KEPT heard -- and
not another kind's. Pure core, clock injected.
"""

from __future__ import annotations

import pytest

from edge import presence
from edge.presence import PresenceEngine, Sighting
from edge.presence_pauses import KINDS_MAX, PAUSES_KEPT, Pauses
from tests.test_presence_pause import EDGE_DBM, FAR_DBM, HZ, T0, TICK_S, changes, engine, heard, silent


def test_the_kinds_pause_is_the_longest_of_the_last_ones_heard() -> None:
    pauses = Pauses()
    assert pauses.of("eid") == 0.0
    pauses.heard("eid", 4.0)
    pauses.heard("eid", 9.0)
    pauses.heard("eid", 5.0)
    assert pauses.of("eid") == 9.0
    assert pauses.of("ibeacon") == 0.0  # another kind of advertiser learns its own
    for _ in range(PAUSES_KEPT - 2):  # the 9 s pause and the PAUSES_KEPT - 1 after it
        pauses.heard("eid", 5.0)
    assert pauses.of("eid") == 9.0  # still among the last PAUSES_KEPT
    pauses.heard("eid", 5.0)
    assert pauses.of("eid") == 5.0  # an odd long silence is forgotten after PAUSES_KEPT more


def test_the_kinds_learned_are_bounded() -> None:
    pauses = Pauses()
    for k in range(KINDS_MAX + 5):
        pauses.heard(f"kind-{k}", 6.0)
    assert pauses.of(f"kind-{KINDS_MAX - 1}") == 6.0
    assert pauses.of(f"kind-{KINDS_MAX}") == 0.0  # past the bound: its shoppers' own pauses only


def _first_shoppers_pause(eng: PresenceEngine) -> None:
    """s-1 stands at the edge, its phone pauses 9 s (an exit: nobody's pause was known), it is heard again."""
    events = heard(eng, EDGE_DBM, T0, 30, token="s-1")
    events += silent(eng, T0 + 30, 9.0)
    events += heard(eng, EDGE_DBM, T0 + 39, 5, token="s-1")
    assert changes(events) == [("entered", "baby"), ("exited", "baby"), ("entered", "baby")]


def test_another_shoppers_first_pause_is_held() -> None:
    """s-2's phone, of the same kind, pauses 9 s at the same edge later: its visit is kept."""
    eng = engine()
    _first_shoppers_pause(eng)
    events = heard(eng, EDGE_DBM, T0 + 44, 30, token="s-2")
    events += silent(eng, T0 + 74, 9.0)
    events += heard(eng, EDGE_DBM, T0 + 83, 10, token="s-2")
    assert [(e.token, e.kind) for e in events if e.kind != "dwell"] == [("s-2", "entered"), ("s-1", "exited")]
    assert eng.zone_of("s-2") == "baby"


def test_without_the_store_the_first_pause_of_each_phone_splits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(presence, "STORE_PAUSES", False)
    eng = engine()
    _first_shoppers_pause(eng)
    events = heard(eng, EDGE_DBM, T0 + 44, 30, token="s-2")
    events += silent(eng, T0 + 74, 9.0)
    events += heard(eng, EDGE_DBM, T0 + 83, 10, token="s-2")
    assert ("s-2", "exited") in [(e.token, e.kind) for e in events]


def test_a_card_is_not_held_by_the_phones_pause() -> None:
    """A card (another ``via``) standing at the edge goes silent 9 s after a phone's 9 s pause: it leaves."""
    eng = engine()
    _first_shoppers_pause(eng)
    events = []
    for i in range(round(30 * HZ)):
        at = T0 + 44 + i / HZ
        events += eng.observe(Sighting("card-1", "eddystone", "gw-1", EDGE_DBM, -59.0, at))
        events += eng.observe(Sighting("card-1", "eddystone", "gw-2", FAR_DBM, -59.0, at + 0.01))
        if i % round(TICK_S * HZ) == 0:
            events += eng.tick(at + 0.02)
    events += silent(eng, T0 + 74, 9.0)
    assert ("card-1", "exited") in [(e.token, e.kind) for e in events if e.kind != "dwell"]


def test_a_silence_of_a_peers_summaries_teaches_the_store_nothing() -> None:
    """s-1 is heard only through a peer's summaries (each sample a second late: the drinks zone's scanner is another
    gateway's); they stop 9 s (the store broker restarted) and come back. That is no pause of the phone: s-2, heard
    by this gateway's own scanner at the baby zone's edge, leaves on its first 9 s silence as before."""
    eng = engine()
    events = []
    for i in range(round(40 * HZ)):
        at = T0 + i / HZ
        if 30 <= at - T0 < 39:
            continue  # the broker's restart: nothing from the peer
        events += eng.tick(at + 1.0)  # the peer's sample reaches the engine a second after it was heard
        events += eng.observe(Sighting("s-1", "ibeacon", "gw-2", -60, -59.0, at))
    assert ("drinks", "s-1") in [(e.zone, e.token) for e in events if e.kind == "entered"]
    events = heard(eng, EDGE_DBM, T0 + 44, 30, token="s-2")
    events += silent(eng, T0 + 74, 9.0)
    assert ("s-2", "exited") in [(e.token, e.kind) for e in events if e.kind != "dwell"]
