"""A late summary is not a deaf owner (issue 18): ownership holds at 8 gateways under load.

At 8 ``edge run`` processes a gateway evaluates a slot without a peer's summary once
``SLOT_DEADLINE_S`` has passed; the old rule then counted that peer deaf for the slot ("the owner no
longer hears it") and moved every shopper it owned to the loudest other gateway, whose zone hand gave
them back a moment later: 380 claims per 20 s for 100 standing shoppers (docs/multi-gateway.md,
"Ownership under load"). Now an alive owner that sent *no* summary in the window keeps its shoppers
while its last summary (a late one included) is at most :data:`SILENT_KEEP_SLOTS` slots old; a summary of
its own without the token, its last will, or a longer silence (kill -9) move them as before. A late summary
counts for slot k if it was received by slot k's deadline, wherever the gateway's evaluation then was
(session 15: counted if read before the evaluation, a late summary on either side of two gateways'
evaluations made them decide differently).

Pure: the arbitration with the slots' scores as the summaries carry them; a late summary is one
added after its slot was evaluated.
"""

from __future__ import annotations

from edge.peers.arbitration import SILENT_KEEP_SLOTS, WINDOW_SLOTS, Arbiter, Change

ALIVE = {"gw-a", "gw-b", "gw-c"}


def _owned_by_a(arbiter: Arbiter) -> None:
    """gw-a hears the shopper loudest at slot 10 and owns them."""
    arbiter.add(10, "gw-a", {"tok": -60.0})
    arbiter.add(10, "gw-b", {"tok": -70.0})
    arbiter.add(10, "gw-c", {})
    assert [(c.new, c.epoch, c.why) for c in arbiter.evaluate(10, ALIVE)] == [("gw-a", 1, "new")]


def _slot(arbiter: Arbiter, slot: int, *, a: dict[str, float] | None, alive: set[str] = ALIVE) -> list[Change]:
    """gw-b and gw-c's summaries of ``slot`` (gw-b hears the shopper); gw-a's only if ``a`` is given."""
    if a is not None:
        arbiter.add(slot, "gw-a", a)
    arbiter.add(slot, "gw-b", {"tok": -70.0})
    arbiter.add(slot, "gw-c", {})
    return arbiter.evaluate(slot, alive)


def test_an_owner_whose_summaries_are_late_keeps_its_shopper() -> None:
    """gw-a's summaries of slots 11 and 12 miss their deadline (they come after the evaluation): the old
    rule moved the shopper to gw-b at slot 12 (gw-a not in the window); now gw-a keeps them, and its own
    summaries, once on time again, say it still hears them."""
    arbiter = Arbiter()
    _owned_by_a(arbiter)
    assert _slot(arbiter, 11, a=None) == []
    assert _slot(arbiter, 12, a=None) == []
    arbiter.add(11, "gw-a", {"tok": -60.0})  # late: ignored for the scores, but gw-a speaks
    arbiter.add(12, "gw-a", {"tok": -61.0})
    for slot in range(13, 20):
        assert _slot(arbiter, slot, a={"tok": -60.0}) == []
    assert (arbiter.owner("tok"), arbiter.epoch("tok")) == ("gw-a", 1)


def test_late_summaries_keep_the_shopper_every_other_slot() -> None:
    """Under load one summary in two comes late for a long time: the shopper stays with gw-a."""
    arbiter = Arbiter()
    _owned_by_a(arbiter)
    changes: list[Change] = []
    for slot in range(11, 60):
        late = slot % 2 == 1
        changes += _slot(arbiter, slot, a=None if late else {"tok": -60.0})
        if late:
            arbiter.add(slot, "gw-a", {"tok": -60.0})
    assert changes == []
    assert arbiter.owner("tok") == "gw-a"


def test_an_owner_whose_own_summary_lacks_the_shopper_loses_them_at_once() -> None:
    """Deaf, not late: gw-a's summaries of the window say it no longer hears the shopper."""
    arbiter = Arbiter()
    _owned_by_a(arbiter)
    assert _slot(arbiter, 11, a={}) == []  # slot 10's -60 dBm is still in the window
    moved = _slot(arbiter, 12, a={})
    assert [(c.old, c.new, c.epoch, c.why) for c in moved] == [("gw-a", "gw-b", 2, "deaf")]


def test_a_silent_owner_loses_the_shopper_after_the_keep() -> None:
    """kill -9: gw-a sends nothing more after slot 10 and its will has not come. It keeps the shopper up to
    SILENT_KEEP_SLOTS slots after its last summary, then the loudest other gateway takes them."""
    arbiter = Arbiter()
    _owned_by_a(arbiter)
    last = 10 + SILENT_KEEP_SLOTS
    for slot in range(11, last + 1):
        assert _slot(arbiter, slot, a=None) == [], slot
    moved = _slot(arbiter, last + 1, a=None)
    assert [(c.old, c.new, c.why) for c in moved] == [("gw-a", "gw-b", "silent")]
    # The old rule: at slot 10 + WINDOW_SLOTS (gw-a gone from the window); now SILENT_KEEP_SLOTS - 1 later.
    assert last + 1 - (10 + WINDOW_SLOTS) == SILENT_KEEP_SLOTS - 1


def test_a_gone_owner_loses_the_shopper_at_once() -> None:
    """Its last will: not alive, nothing to wait for."""
    arbiter = Arbiter()
    _owned_by_a(arbiter)
    moved = _slot(arbiter, 11, a=None, alive={"gw-b", "gw-c"})
    assert [(c.old, c.new) for c in moved] == [("gw-a", "gw-b")]


def test_two_gateways_one_without_the_owners_summary_agree() -> None:
    """gw-b evaluated slots 11-12 at the deadline without gw-a's summaries, gw-c had them: both keep gw-a
    (the old rule moved the shopper on gw-b only: two views, settled by claims, the churn)."""
    on_time, late = Arbiter(), Arbiter()
    _owned_by_a(on_time)
    _owned_by_a(late)
    for slot in (11, 12):
        assert _slot(on_time, slot, a={"tok": -60.0}) == []
        assert _slot(late, slot, a=None) == []
        late.add(slot, "gw-a", {"tok": -60.0})
    for slot in range(13, 16):
        assert _slot(on_time, slot, a={"tok": -60.0}) == _slot(late, slot, a={"tok": -60.0}) == []
    assert on_time.owner("tok") == late.owner("tok") == "gw-a"


DEADLINE_S = 2.5
"""Slot k's deadline in these cases: k + 1 + this (``SLOT_DEADLINE_S``)."""


def _silent_after_10(arbiter: Arbiter, late: tuple[float, int] | None) -> list[Change]:
    """gw-a owns the shopper at slot 10, then none of its summaries of slots 11-15 reaches an evaluation in
    time. ``late``: its summary of slot 13, received at that time (the clock of the deadlines) and read by
    the service just before it evaluates that slot (after slot 15: None)."""
    _owned_by_a(arbiter)
    changes: list[Change] = []
    for slot in range(11, 16):
        if late is not None and late[1] == slot:
            arbiter.add(13, "gw-a", {"tok": -60.0}, received=late[0])
        arbiter.add(slot, "gw-b", {"tok": -70.0})
        arbiter.add(slot, "gw-c", {})
        changes += arbiter.evaluate(slot, ALIVE, slot + 1 + DEADLINE_S)
    return changes


def test_a_late_summary_on_either_side_of_an_evaluation_gives_the_same_owner() -> None:
    """gw-a's summary of slot 13 is received by gw-b and gw-c 3.6 s after that slot, past slot 14's deadline
    (17.5). gw-b, behind, reads it before it evaluates slot 14; gw-c evaluated slot 14 before it. The first
    rule counted it on gw-b (gw-a kept the shopper until slot 16) and not on gw-c (moved at slot 14): two
    owners until a claim settled it. By the deadline neither had it: both move the shopper at slot 14, to
    the same gateway at the same epoch."""
    on_b, on_c = Arbiter(), Arbiter()
    moved_b = _silent_after_10(on_b, (17.6, 14))
    moved_c = _silent_after_10(on_c, (17.6, 15))
    assert moved_b == moved_c == [Change("tok", "gw-a", "gw-b", 2, "silent")]
    assert (on_b.owner("tok"), on_b.epoch("tok")) == (on_c.owner("tok"), on_c.epoch("tok")) == ("gw-b", 2)


def test_a_late_summary_received_by_the_deadline_keeps_the_owner() -> None:
    """The same summary received 3.4 s after its slot, by slot 14's deadline: gw-a is not silent at slot 14
    (its slot-13 summary is 1 slot old) and keeps the shopper, however late the service read it; received
    just past the deadline, it moves them as if it never came."""
    kept, never, past = Arbiter(), Arbiter(), Arbiter()
    assert _silent_after_10(kept, (17.4, 14)) == []  # 13 + 3 = 16 is the last slot it keeps them
    assert kept.owner("tok") == "gw-a"
    assert _silent_after_10(past, (17.6, 14)) == _silent_after_10(never, None) != []


def test_a_summary_of_a_later_slot_keeps_nothing() -> None:
    """A gateway that evaluates slot 14 late may already hold gw-a's summary of slot 15 (one evaluating on
    time cannot): it does not count for slot 14, so both move the shopper there."""
    prompt, behind = Arbiter(), Arbiter()
    _owned_by_a(prompt)
    _owned_by_a(behind)
    for arbiter in (prompt, behind):
        for slot in range(11, 14):
            assert _slot(arbiter, slot, a=None) == [], slot
    behind.add(15, "gw-a", {"tok": -60.0}, received=16.2)
    moved = [_slot(arbiter, 14, a=None) for arbiter in (prompt, behind)]
    assert moved[0] == moved[1] == [Change("tok", "gw-a", "gw-b", 2, "silent")]
