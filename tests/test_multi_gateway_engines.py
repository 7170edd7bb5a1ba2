"""The gateways' engines of a simulated store without processes (edge.sim.engines, issue 18): the
instrument that says where a hand-off's time goes before any gateway speaks."""

from __future__ import annotations

from edge.sim import engines
from edge.sim.multi import MultiStore, Walk

SECONDS = 60.0


def test_every_hand_off_is_entered_by_both_engines_in_time_and_the_owners_is_stamped_when_heard() -> None:
    store = MultiStore(gateways=3, seed=3, start=1_800_000_000.0, spacing_m=7.0)
    walks = [Walk(i, store.start + 2.0 + 3.0 * i, (0, 1, 2) if i % 2 else (2, 1, 0), 12.0) for i in range(4)]
    run = engines.run(store, walks, SECONDS)
    found = engines.handoffs(store, walks, SECONDS, run)
    assert len(found) == 8  # 4 walkers, 2 hand-offs each
    for h in found:
        assert h.owner_entered is not None
        assert h.new_entered is not None
        assert h.owner_emitted is not None
        assert h.new_emitted is not None
        assert 0.0 < h.owner_entered < 6.0
        assert 0.0 < h.new_entered < 6.0
        # the old zone's gateway hears the new zone through the peer's summary: it decides on the
        # peer's samples, stamped when heard, a little before it can emit
        assert h.owner_emitted >= h.owner_entered
    for one in run.values():  # one zone at a time, per engine
        where: dict[str, str | None] = {}
        for _, event in one.said:
            if event.kind == "entered":
                assert where.get(event.token) is None
                where[event.token] = event.zone
            elif event.kind == "exited":
                assert where.get(event.token) == event.zone
                where[event.token] = None


def test_one_engine_hearing_everything_is_the_reference() -> None:
    store = MultiStore(gateways=3, seed=4, start=1_800_000_000.0, spacing_m=7.0)
    walks = [Walk(0, store.start + 2.0, (0, 1, 2), 12.0)]
    run = engines.run(store, walks, SECONDS, hear_all=True)
    assert list(run) == ["all"]
    found = engines.handoffs(store, walks, SECONDS, run)
    assert [h.to for h in found] == ["z2", "z3"]
    assert all(h.new_entered == h.new_emitted for h in found)  # first-hand: emitted when heard
