"""Ownership does not bounce: an owner that keeps a shopper in one of its own zones (issue 18).

With the grid engine on three gateways, an owner whose engine placed a shopper in another gateway's
zone handed them on (the zone rule), and two slots later the 4 dB loudness rule moved them back to the
louder gateway, whose engine had them in that zone too, so it handed them on again: 17-70 straight-back
hand-offs per doors run (docs/multi-gateway.md, "Ownership that does not bounce"). Now the owner's
summary hands a shopper it keeps to itself (the zone its stream said is one of its own), and the
loudness rule then asks for :data:`KEEP_MARGIN_DB` instead of :data:`MARGIN_DB`.

Pure: the arbitration with the slots' scores and hands as the summaries carry them (every gateway
reads the same summaries, so every gateway decides the same).
"""

from __future__ import annotations

import pytest

from edge.peers.arbitration import HOLD_SLOTS, KEEP_MARGIN_DB, MARGIN_DB, Arbiter, Change
from edge.peers.summary import Hand, Slot, decode, encode
from edge.presence import Sighting

ALIVE = {"gw-a", "gw-b"}


def _handed_to_b(arbiter: Arbiter) -> None:
    """gw-a owns the shopper (louder), then its engine places them in gw-b's zone: its hand moves them."""
    arbiter.add(10, "gw-a", {"tok": -60.0})
    arbiter.add(10, "gw-b", {"tok": -75.0})
    assert [(c.new, c.epoch) for c in arbiter.evaluate(10, ALIVE)] == [("gw-a", 1)]
    arbiter.add(11, "gw-a", {"tok": -62.0}, {"tok": "gw-b"})
    arbiter.add(11, "gw-b", {"tok": -68.0})
    assert [(c.old, c.new) for c in arbiter.evaluate(11, ALIVE)] == [("gw-a", "gw-b")]


def _slots(arbiter: Arbiter, lead_db: float, *, keeps: bool, slots: range) -> list[Change]:
    """gw-a louder than the owner gw-b by ``lead_db``; gw-b's summaries keep the shopper or not."""
    out: list[Change] = []
    for slot in slots:
        arbiter.add(slot, "gw-b", {"tok": -70.0}, {"tok": "gw-b"} if keeps else None)
        arbiter.add(slot, "gw-a", {"tok": -70.0 + lead_db})
        out += arbiter.evaluate(slot, ALIVE)
    return out


def test_a_kept_shopper_is_not_moved_back_by_the_loudness_lead() -> None:
    """The bounce, replayed: gw-a stays louder by 6 dB (over the 4 dB margin) while gw-b's engine has
    the shopper in gw-b's zone. The old rule moved them back after two evaluations."""
    arbiter = Arbiter()
    _handed_to_b(arbiter)
    assert MARGIN_DB < 6.0 < KEEP_MARGIN_DB
    assert _slots(arbiter, 6.0, keeps=True, slots=range(12, 40)) == []
    assert arbiter.owner("tok") == "gw-b"


def test_once_the_owner_no_longer_keeps_the_shopper_the_loudness_rule_is_as_before() -> None:
    """gw-b's stream left its zone (no zone, or a zone it shares): the 4 dB lead moves the shopper."""
    arbiter = Arbiter()
    _handed_to_b(arbiter)
    assert _slots(arbiter, 6.0, keeps=True, slots=range(12, 15)) == []
    moved = _slots(arbiter, 6.0, keeps=False, slots=range(15, 25))
    assert [(c.old, c.new, c.epoch) for c in moved] == [("gw-b", "gw-a", 3)]
    assert arbiter.owner("tok") == "gw-a"


def test_a_lead_much_larger_than_noise_moves_a_kept_shopper() -> None:
    """The owner's engine is stuck in its zone while the shopper is far nearer another gateway's scanner."""
    arbiter = Arbiter()
    _handed_to_b(arbiter)
    assert _slots(arbiter, KEEP_MARGIN_DB - 1.0, keeps=True, slots=range(12, 20)) == []
    # Held for HOLD_SLOTS evaluations, as any lead (the 2-slot window's mean crosses the bar at once).
    assert _slots(arbiter, KEEP_MARGIN_DB + 1.0, keeps=True, slots=range(20, 20 + HOLD_SLOTS - 1)) == []
    moved = _slots(arbiter, KEEP_MARGIN_DB + 1.0, keeps=True, slots=range(20 + HOLD_SLOTS - 1, 30))
    assert [(c.old, c.new, c.epoch) for c in moved] == [("gw-b", "gw-a", 3)]


def test_only_the_owners_keep_counts() -> None:
    """gw-a hands the shopper to itself in its summary while gw-b owns them: nothing changes the rule."""
    arbiter = Arbiter()
    _handed_to_b(arbiter)
    moved: list[Change] = []
    for slot in range(12, 20):
        arbiter.add(slot, "gw-b", {"tok": -70.0})
        arbiter.add(slot, "gw-a", {"tok": -64.0}, {"tok": "gw-a"})
        moved += arbiter.evaluate(slot, ALIVE)
    assert [(c.old, c.new) for c in moved] == [("gw-b", "gw-a")]


@pytest.mark.parametrize("first", ["gw-a", "gw-b"])
def test_every_gateway_decides_the_same_whatever_order_the_summaries_arrive_in(first: str) -> None:
    reference, other = Arbiter(), Arbiter()
    _handed_to_b(reference)
    _handed_to_b(other)
    script = [(6.0, True)] * 5 + [(KEEP_MARGIN_DB + 2.0, True)] * 3 + [(6.0, False)] * 4
    seen: list[list[tuple[str, str | None, str | None, int]]] = [[], []]
    for i, (lead, keeps) in enumerate(script):
        slot = 12 + i
        b = ("gw-b", {"tok": -70.0}, {"tok": "gw-b"} if keeps else None)
        a = ("gw-a", {"tok": -70.0 + lead}, None)
        for n, (arbiter, order) in enumerate(((reference, (a, b)), (other, (a, b) if first == "gw-a" else (b, a)))):
            for gateway, scores, hands in order:
                arbiter.add(slot, gateway, scores, hands)
            seen[n] += [(c.token, c.old, c.new, c.epoch) for c in arbiter.evaluate(slot, ALIVE)]
    assert seen[0] == seen[1]
    assert seen[0]  # the script does move the shopper


def test_a_hand_to_itself_travels_in_the_summary() -> None:
    slot = Slot("gw-b")
    slot.add(Sighting("tok", "ibeacon", "s-b", -70, None, 100.2))
    back = decode(encode(slot.close(100, (Hand("tok", "gw-b"),))), peer="gw-b")
    assert back.hands == (Hand("tok", "gw-b"),)
