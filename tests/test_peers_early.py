"""edge.peers: the slot's early part (half way through it, for the peers' engines only) and the
summary at its end delivering only what the early part did not."""

from __future__ import annotations

import json

import pytest

from edge.peers.summary import EARLY_AT_S, Parts, PeerSummaryError, Slot, Summary, decode, encode, to_sightings
from edge.presence import Sighting

SLOT = 100


def heard(slot: Slot, rssis: tuple[int, ...], start: float, token: str = "tok-a") -> None:
    for i, rssi in enumerate(rssis):
        slot.add(Sighting(token, "ibeacon", "s-2", rssi, -59.0, start + i * 0.15))


def test_the_early_part_is_the_slot_so_far_and_resets_nothing() -> None:
    slot = Slot("gw-2")
    heard(slot, (-70, -62, -66), SLOT + 0.05)
    early = slot.peek(SLOT)
    assert early.early
    assert decode(encode(early), peer="gw-2") == early
    assert b'"early":true' in encode(early)
    heard(slot, (-64, -68), SLOT + 0.6)
    whole = slot.close(SLOT)
    assert not whole.early
    assert b'"early"' not in encode(whole)  # a whole slot's summary is as it was...
    assert (early.tokens[0].heard[0].count, whole.tokens[0].heard[0].count) == (3, 5)
    # ...but for each scanner's first time heard (session 43): the early part's is the slot's first, the
    # summary's the first since the early part, and it says so
    assert (early.tokens[0].heard[0].span_ms, early.rest_firsts) == (300, False)  # (0.05 to 0.35)
    assert (whole.tokens[0].heard[0].span_ms, whole.rest_firsts) == (150, True)  # (0.6 to 0.75)
    assert b'"rest_firsts":true' in encode(whole)


def test_the_summary_after_an_early_part_delivers_the_rest_only_once() -> None:
    slot = Slot("gw-2")
    heard(slot, (-70, -62, -66), SLOT + 0.05)
    early = slot.peek(SLOT).tokens[0]
    heard(slot, (-64, -68), SLOT + 0.6)
    heard(slot, (-75,), SLOT + 0.9, token="tok-b")
    whole = slot.close(SLOT)
    first = to_sightings(early, SLOT, SLOT + EARLY_AT_S + 0.02)
    rest = to_sightings(whole.tokens[0], SLOT, SLOT + 1.02, early)
    assert len(first) + len(rest) == whole.tokens[0].heard[0].count
    assert all(s.at <= SLOT + EARLY_AT_S for s in first)
    assert min(s.at for s in rest) > max(s.at for s in first)  # after the early part's last, in order
    assert max(s.rssi for s in first) == -62  # the loudest, heard early, is not delivered twice
    assert max(s.rssi for s in rest) < -62
    # a token the early part did not have is delivered whole
    assert len(to_sightings(whole.tokens[1], SLOT, SLOT + 1.02, None)) == 1


def test_nothing_new_after_the_early_part_delivers_nothing() -> None:
    slot = Slot("gw-2")
    heard(slot, (-70, -62), SLOT + 0.05)
    early = slot.peek(SLOT).tokens[0]
    whole = slot.close(SLOT).tokens[0]
    assert to_sightings(whole, SLOT, SLOT + 1.02, early) == []


def test_a_late_closed_slot_carries_its_early_part_once() -> None:
    """A loop woken a second or more late closes a later slot (``Slots.run``) with everything heard since its
    last summary, the early part's samples included: the early part's slot travels with it (``part_of``)
    and a peer delivers only the rest. Before, the two slots differed and the peer delivered the early
    part's samples twice (3 + 5 = 8 sightings for 5 heard)."""
    sender = Slot("gw-2")
    heard(sender, (-70, -62, -66), SLOT + 0.05)
    early = decode(encode(sender.peek(SLOT)), peer="gw-2")
    heard(sender, (-64, -68), SLOT + 0.6)
    whole = decode(encode(sender.close(SLOT + 2)), peer="gw-2")  # woken 2.4 s late: the latest complete slot
    assert (whole.slot, whole.part_of) == (SLOT + 2, SLOT)
    receiver = Parts()
    first = receiver.sightings("gw-2", early, list(early.tokens), SLOT + EARLY_AT_S + 0.02)
    rest = receiver.sightings("gw-2", whole, list(whole.tokens), SLOT + 3.5)
    assert (len(first), len(rest)) == (3, 2)
    # the next slot, on time: no part_of, and an early part of another slot is not taken for its own
    heard(sender, (-71,), SLOT + 3.1)
    assert b"part_of" not in encode(sender.close(SLOT + 3))
    heard(sender, (-72,), SLOT + 4.1)
    stale = decode(encode(sender.peek(SLOT + 4)), peer="gw-2")
    heard(sender, (-73,), SLOT + 5.1)
    receiver.sightings("gw-2", stale, list(stale.tokens), SLOT + 4.6)
    later = sender.close(SLOT + 6)
    other = Summary("gw-2", SLOT + 6, later.tokens)  # without part_of (a sender without the field): whole
    assert len(receiver.sightings("gw-2", other, list(other.tokens), SLOT + 7.1)) == 2


def test_a_bad_part_of_is_rejected_naming_the_field() -> None:
    """Hostile input: ``part_of`` out of range or of the wrong type fails the summary with the field named."""
    raw = json.loads(encode(Summary("gw-2", SLOT, ())))
    for bad in (-1, 2**41, "x", [1]):
        raw["part_of"] = bad
        with pytest.raises(PeerSummaryError, match=r"\$\.part_of"):
            decode(json.dumps(raw).encode(), peer="gw-2")
