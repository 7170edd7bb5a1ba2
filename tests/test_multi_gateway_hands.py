"""The owner hands a shopper on when its engine placed them in another gateway's zone (issue 18).

Pure: the summary's ``hands`` (encode/decode, limits, an older peer's summary without them) and the
arbitration's rule -- the owner's hand moves the shopper at once, to a gateway that heard it in the
slot; anyone else's hand, or a hand to a gateway that did not hear it, changes nothing.
"""

from __future__ import annotations

import msgspec
import pytest

from edge.peers import messages
from edge.peers.arbitration import Arbiter
from edge.peers.messages import Claim, HandingOn
from edge.peers.summary import Hand, PeerSummaryError, Slot, decode, encode
from edge.presence import Sighting


def _owned_by_a(arbiter: Arbiter) -> None:
    arbiter.add(10, "gw-a", {"tok": -60.0})
    arbiter.add(10, "gw-b", {"tok": -75.0})
    assert [(c.new, c.epoch) for c in arbiter.evaluate(10, {"gw-a", "gw-b"})] == [("gw-a", 1)]


def test_the_owners_hand_moves_the_shopper_at_once() -> None:
    arbiter = Arbiter()
    _owned_by_a(arbiter)
    # gw-b is 3 dB louder only: the RSSI rule alone would keep gw-a (4 dB, twice).
    arbiter.add(11, "gw-a", {"tok": -70.0}, {"tok": "gw-b"})
    arbiter.add(11, "gw-b", {"tok": -67.0})
    changes = arbiter.evaluate(11, {"gw-a", "gw-b"})
    assert [(c.old, c.new, c.epoch) for c in changes] == [("gw-a", "gw-b", 2)]


@pytest.mark.parametrize(
    ("hands_by", "to", "b_heard"),
    [("gw-b", "gw-b", True), ("gw-a", "gw-b", False), ("gw-a", "gw-c", True)],
    ids=["not-the-owner", "target-did-not-hear-it", "target-not-alive"],
)
def test_other_hands_change_nothing(hands_by: str, to: str, b_heard: bool) -> None:
    arbiter = Arbiter()
    _owned_by_a(arbiter)
    arbiter.add(11, "gw-a", {"tok": -62.0}, {"tok": to} if hands_by == "gw-a" else None)
    arbiter.add(11, "gw-b", {"tok": -74.0} if b_heard else {}, {"tok": to} if hands_by == "gw-b" else None)
    arbiter.add(11, "gw-c", {"tok": -90.0})
    assert arbiter.evaluate(11, {"gw-a", "gw-b"}) == []
    assert arbiter.owner("tok") == "gw-a"


def test_a_forgotten_token_is_not_handed() -> None:
    arbiter = Arbiter()
    _owned_by_a(arbiter)
    arbiter.add(11, "gw-a", {"tok": -70.0}, {"tok": "gw-b"})
    arbiter.add(11, "gw-b", {"tok": -67.0})
    arbiter.forget("tok")  # consent withdrawn: nothing about the token is kept, its hand included
    assert arbiter.evaluate(11, {"gw-a", "gw-b"}) == []
    assert arbiter.owner("tok") is None


def test_summary_hands_round_trip_and_are_absent_when_empty() -> None:
    slot = Slot("gw-a")
    slot.add(Sighting("tok", "ibeacon", "gw-a-s", -60, -59.0, 10.2))
    plain = encode(slot.close(10))
    assert b"hands" not in plain  # an older peer reads it as before
    slot.add(Sighting("tok", "ibeacon", "gw-a-s", -60, -59.0, 11.2))
    summary = slot.close(11, (Hand("tok", "gw-b"),))
    back = decode(encode(summary), peer="gw-a")
    assert back.hands == (Hand("tok", "gw-b"),)
    # A summary from a gateway that never heard of hands decodes with none.
    assert decode(plain, peer="gw-a").hands == ()


@pytest.mark.parametrize("hand", [["", "gw-b"], ["tok", ""], ["tok", "g" * 65], ["t" * 129, "gw-b"]])
def test_a_hand_out_of_bounds_is_refused(hand: list[str]) -> None:
    payload = msgspec.json.encode({"gateway": "gw-a", "slot": 1, "tokens": [], "hands": [hand]})
    with pytest.raises(PeerSummaryError, match="gw-a"):
        decode(payload, peer="gw-a")


def test_a_hand_at_once_moves_only_from_the_owner_at_its_epoch() -> None:
    arbiter = Arbiter()
    _owned_by_a(arbiter)
    assert arbiter.hand("tok", "gw-b", 1, "gw-c") is None  # not the owner
    assert arbiter.hand("tok", "gw-a", 0, "gw-b") is None  # a stale epoch: a later change won
    assert arbiter.hand("tok", "gw-a", 1, "gw-a") is None  # to itself
    change = arbiter.hand("tok", "gw-a", 1, "gw-b")
    assert change is not None
    assert (change.old, change.new, change.epoch) == ("gw-a", "gw-b", 2)
    assert arbiter.hand("tok", "gw-a", 1, "gw-b") is None  # the same claim seen twice moves it once
    assert arbiter.owner("tok") == "gw-b"


def test_a_claim_naming_a_hand_round_trips_and_a_plain_claim_has_none() -> None:
    plain = messages.encoder.encode(Claim("tok", "gw-a", 3, "z2"))
    assert b"hand" not in plain  # claims without a hand are as before
    assert messages.claims.decode(plain).hand is None
    handing = messages.encoder.encode(HandingOn("tok", "gw-a", 3, "z2", hand="gw-b"))
    assert messages.claims.decode(handing) == HandingOn("tok", "gw-a", 3, "z2", hand="gw-b")
