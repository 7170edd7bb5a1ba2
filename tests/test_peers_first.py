"""edge.peers.summary: each scanner's first time heard (``Heard.span_ms`` before its last, session 43) -- a peer's
samples come back spread between the first and the last time heard, not from the slot's start; older peers'
summaries, and a summary whose early part never came, read as before."""

from __future__ import annotations

import msgspec
import pytest

from edge.peers.summary import Parts, PeerSummaryError, Slot, Summary, decode, encode, to_sightings
from edge.presence import Sighting

SLOT = 100


class OldHeard(msgspec.Struct, array_like=True, frozen=True):
    """A scanner's entry as gateways before session 43 decode it."""

    scanner: str
    count: int
    max: int
    median: float
    last: float


class OldEntry(msgspec.Struct, array_like=True, frozen=True):
    token: str
    via: str
    power: float | None
    heard: tuple[OldHeard, ...]


class OldSummary(msgspec.Struct, frozen=True):
    gateway: str
    slot: int
    tokens: tuple[OldEntry, ...]


def heard(slot: Slot, stamps: tuple[float, ...], scanner: str = "s-2", rssi: int = -66) -> None:
    for at in stamps:
        slot.add(Sighting("tok-a", "ibeacon", scanner, rssi, -59.0, at))


def stamps(sightings: list[Sighting]) -> list[float]:
    return [round(s.at, 3) for s in sightings]


def test_a_phones_samples_come_back_when_they_were_heard() -> None:
    """Three adverts of a 10 Hz phone heard late in the slot come back at their times, not a third of a second
    apart from the slot's start."""
    slot = Slot("gw-2")
    heard(slot, (SLOT + 0.7, SLOT + 0.8, SLOT + 0.9))
    summary = decode(encode(slot.close(SLOT)), peer="gw-2")
    assert summary.tokens[0].heard[0].span_ms == 200
    assert b"100.9,200]" in encode(summary)
    assert stamps(to_sightings(summary.tokens[0], SLOT, SLOT + 1.05)) == [SLOT + 0.7, SLOT + 0.8, SLOT + 0.9]


def test_without_first_the_samples_spread_from_the_slots_start_as_before() -> None:
    """An older peer's summary (five elements a scanner) decodes, its ``first`` absent, and its samples come back
    as they did: spread after the slot's start, the last at its last."""
    payload = b'{"gateway":"gw-2","slot":100,"tokens":[["tok-a","ibeacon",-59.0,[["s-2",3,-60,-66.0,100.9]]]]}'
    summary = decode(payload, peer="gw-2")
    assert summary.tokens[0].heard[0].first is None
    assert stamps(to_sightings(summary.tokens[0], SLOT, SLOT + 1.05)) == [SLOT + 0.3, SLOT + 0.6, SLOT + 0.9]


def test_an_older_gateway_reads_a_summary_with_first() -> None:
    """The element is appended: a decoder that knows five elements a scanner (an older gateway's) ignores the
    sixth."""

    slot = Slot("gw-2")
    heard(slot, (SLOT + 0.2, SLOT + 0.4))
    old = msgspec.json.decode(encode(slot.close(SLOT)), type=OldSummary)
    assert old.tokens[0].heard[0] == OldHeard("s-2", 2, -66, -66.0, SLOT + 0.4)


def test_the_rest_of_a_slot_starts_at_its_own_first() -> None:
    """After the slot's early part, the summary gives each scanner's first time heard since it and says so
    (``rest_firsts``): the rest comes back from there; a peer that missed the early part does not read it."""
    slot = Slot("gw-2")
    heard(slot, (SLOT + 0.1, SLOT + 0.2))
    early = decode(encode(slot.peek(SLOT)), peer="gw-2")
    heard(slot, (SLOT + 0.75, SLOT + 0.85, SLOT + 0.95))
    whole = decode(encode(slot.close(SLOT)), peer="gw-2")
    assert whole.rest_firsts
    assert whole.tokens[0].heard[0].span_ms == 200  # (0.75 to 0.95)
    parts = Parts()
    got = parts.sightings("gw-2", early, list(early.tokens), SLOT + 0.55)
    got += parts.sightings("gw-2", whole, list(whole.tokens), SLOT + 1.05)
    assert stamps(got) == [SLOT + 0.1, SLOT + 0.2, SLOT + 0.75, SLOT + 0.85, SLOT + 0.95]
    # the early part lost: all five come back from the summary, spread after the slot's start as before
    alone = Parts().sightings("gw-2", whole, list(whole.tokens), SLOT + 1.05)
    assert stamps(alone) == [SLOT + 0.19, SLOT + 0.38, SLOT + 0.57, SLOT + 0.76, SLOT + 0.95]


def test_a_scanner_heard_only_before_the_early_part_says_no_first_after_it() -> None:
    slot = Slot("gw-2")
    heard(slot, (SLOT + 0.1,), scanner="s-1")
    heard(slot, (SLOT + 0.2,), scanner="s-2")
    slot.peek(SLOT)
    heard(slot, (SLOT + 0.8,), scanner="s-2")
    whole = decode(encode(slot.close(SLOT)), peer="gw-2")
    assert [(h.scanner, h.span_ms) for h in whole.tokens[0].heard] == [("s-1", None), ("s-2", 0)]


@pytest.mark.parametrize("span", ["-1", "60001", "2.5", '"x"', "1e400"])
def test_a_span_below_0_over_a_minute_or_not_whole_ms_is_refused(span: str) -> None:
    payload = (
        '{"gateway":"gw-2","slot":100,"tokens":[["tok-a","ibeacon",-59.0,[["s-2",3,-60,-66.0,100.9,' + span + "]]]]}"
    ).encode()
    with pytest.raises(PeerSummaryError, match="gw-2"):
        decode(payload, peer="gw-2")


def test_a_summary_with_first_round_trips() -> None:
    slot = Slot("gw-2")
    heard(slot, (SLOT + 0.3, SLOT + 0.6))
    summary = slot.close(SLOT)
    assert decode(encode(summary), peer="gw-2") == summary
    assert isinstance(summary, Summary)
    assert not summary.rest_firsts
    assert b"rest_firsts" not in encode(summary)


@pytest.mark.parametrize("flag", ['"yes"', "1", "null"])
def test_a_rest_firsts_that_is_not_a_boolean_is_refused(flag: str) -> None:
    payload = (
        '{"gateway":"gw-2","slot":100,"tokens":[["tok-a","ibeacon",-59.0,[["s-2",3,-60,-66.0,100.9,200]]]],'
        '"rest_firsts":' + flag + "}"
    ).encode()
    with pytest.raises(PeerSummaryError, match="gw-2"):
        decode(payload, peer="gw-2")
