"""The CDP consumer's per-gateway ``sequence`` order (pure: no cluster): in order, duplicates dropped,
a hole held, then counted as a gap, and a late event of it still handed on."""

from __future__ import annotations

from central.consumer import Reorder
from central.subjects import event_subject, subject_gateway


def test_reorder_holds_counts_gaps_and_hands_on_late_events() -> None:
    out: list[tuple[str, int]] = []
    r = Reorder(lambda store, gw, seq, event: out.append((gw, seq)), hold_s=1.0)
    r.add("s", "g1", 2, {}, None, 0.0)  # 1 missing: held
    r.add("s", "g2", 1, {}, None, 0.0)  # another gateway is not held up
    assert out == [("g2", 1)]
    r.add("s", "g1", 1, {}, None, 0.5)
    assert out[1:] == [("g1", 1), ("g1", 2)]
    r.add("s", "g1", 2, {}, None, 0.6)  # a duplicate
    assert r.duplicates == 1
    r.add("s", "g1", 5, {}, None, 1.0)
    assert r.expire(1.5) == []  # held for less than the hold
    assert [gw for gw, _m, _n, _d in r.expire(2.0)] == ["s"]
    assert r.gaps == {("s", "g1"): 2}
    r.add("s", "g1", 3, {}, None, 2.5)  # late, after the gap was given up on: still handed on
    assert out[3:] == [("g1", 5), ("g1", 3)]
    assert r.late == 1


def test_subjects() -> None:
    assert event_subject("edge/v1/s1/g1/events/edge.presence.entered") == (
        "edge.v1.s1.g1.edge.presence.entered",
        "s1",
        "g1",
    )
    assert subject_gateway("edge.v1.s1.g1.edge.presence.entered") == ("s1", "g1", "edge.presence.entered")


def test_restored_watermarks_and_the_restart_grace() -> None:
    out: list[int] = []
    r = Reorder(lambda store, gw, seq, event: out.append(seq), hold_s=1.0)
    r.add("s", "g", 1, {}, None, 0.0)
    r.add("s", "g", 3, {}, None, 0.0)  # 2 missing: held
    r.expire(1.0)  # 2 given up on
    assert r.state() == {"s": {"g": (4, [2])}}
    again: list[int] = []
    restarted = Reorder(lambda store, gw, seq, event: again.append(seq), hold_s=1.0)
    restarted.restore(r.state())
    restarted.not_before = 10.0  # what the last instance held comes back after the ack wait
    restarted.add("s", "g", 3, {}, None, 5.0)  # already handed on: a duplicate, not a hole
    restarted.add("s", "g", 2, {}, None, 5.0)  # the late one of the given-up hole: still handed on
    restarted.add("s", "g", 6, {}, None, 5.0)  # 4 and 5 missing
    assert restarted.expire(10.5) == []  # the hold counts from the grace's end
    restarted.add("s", "g", 4, {}, None, 10.6)
    restarted.add("s", "g", 5, {}, None, 10.7)
    assert again == [2, 4, 5, 6]
    assert restarted.duplicates == 1
    assert restarted.late == 1
    assert not restarted.gaps
