"""A withdrawal silences a shopper on every path at once, a change in flight included (issue 18, privacy).

"A withdrawal stops events for that token within 100 ms and purges its rows within 1 s": the peers service
applies ownership changes on a task of its own (:mod:`edge.peers.changes`), and a gain's first words wait on
the core's writer. A withdrawal that arrived while a gain's ``entered`` waited for its commit used to purge the
rows first and let that ``entered`` land after the purge -- a row, and a message to the CDP, for a shopper who
had withdrawn (docs/multi-gateway.md, "A withdrawal while a change is in flight").

gw-1 of tests/test_peers_rounds.py (its real core, pipeline and SQLite outbox, whose ``entered`` commits are
slowed to one at a time; a real mosquitto) gains 50 shoppers at once, with its real MQTT sync draining the
outbox to the broker and a subscriber on the CDP's events: a shopper whose gain is being applied -- claimed,
its ``entered`` handed to the writer and waiting -- withdraws.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import time
from pathlib import Path

import pytest

from edge import events as ev
from edge.core import Core
from edge.inputs import Downlink
from edge.outbox import OUTBOX_FILE
from edge.peers.arbitration import Change
from edge.peers.changes import FAILURES_LOG_EVERY, Changes
from edge.peers.messages import Claim, Handover
from edge.peers.service import Peers
from edge.peers.timing import CLAIM_REFRESH_S
from edge.sync.service import MqttSync
from tests.mosquitto import Collector, Mosquitto
from tests.peers_replay import until
from tests.test_peers_pipeline import stop
from tests.test_peers_rounds import SHOPPERS, TOKENS, SlowWriter, _entered, _gains_under_a_slow_writer, _until
from tests.test_peers_woke_late import START, StarvedClock, _gw1

PURGE_S = 1.0
"""The privacy bound: a withdrawal's rows purged (and acknowledged) within 1 s."""


def _rows_naming(tmp_path: Path, token: str) -> int:
    """Rows of gw-1's outbox file about ``token`` or naming it anywhere, its acknowledgement aside."""
    db = sqlite3.connect(tmp_path / "state" / OUTBOX_FILE)
    try:
        (count,) = db.execute(
            "SELECT count(*) FROM outbox WHERE type != ? AND (token = ? OR instr(body, ?) > 0)",
            (ev.CONSENT_WITHDRAWN, token, token.encode()),
        ).fetchone()
    finally:
        db.close()
    return int(count)


def _events_naming(cdp: Collector, token: str) -> list[str]:
    """The types of the events the CDP's subscriber received that name ``token``, the acknowledgement aside."""
    out = []
    for message in list(cdp.messages):
        payload = bytes(message.payload)
        if token.encode() in payload:
            kind = str(json.loads(payload)["type"])
            if kind != ev.CONSENT_WITHDRAWN:
                out.append(kind)
    return out


async def test_a_withdrawal_while_a_gains_first_words_wait_for_the_writer(
    mosquitto_server: Mosquitto, tmp_path: Path
) -> None:
    cdp = Collector(mosquitto_server, ("edge/v1/#",))
    chosen: list[str] = []
    seen: dict[str, bool] = {}
    purged_in_s: list[float] = []

    async def withdraw(peers: Peers, clock: StarvedClock, heard: list[str], writer: SlowWriter) -> None:
        sync = MqttSync(peers.ports)
        task = asyncio.create_task(sync.run(lambda: None))
        try:
            # A gain in flight: popped from its queue (a withdrawal can no longer drop it there), claimed, its
            # ``entered`` handed to the writer and waiting behind at least one other's commit.
            await _until(lambda: len(writer.came) >= len(writer.committed) + 2, "a gain's entered waiting")
            withdrawn = writer.came[-1]
            chosen.append(withdrawn)
            seen["in_flight"] = not peers.changes.queued(withdrawn) and withdrawn in peers.claims.mine
            heard.remove(withdrawn)
            body = json.dumps({"token": withdrawn}).encode()
            began = time.monotonic()
            await peers.ports.deliver(Downlink(clock.now(), peers.ports.topics.withdraw, body), None)
            purged_in_s.append(time.monotonic() - began)
            await _until(lambda: len(_entered(tmp_path)) >= SHOPPERS - 1, "the other gains' entered committed")
            await asyncio.sleep(3 * COMMIT_WAIT_S)  # the withdrawn one's slowed commit came and went
            await _until(lambda: sync.drain.acked >= SHOPPERS, "the outbox drained to the broker")
            await asyncio.to_thread(cdp.wait_for, lambda ms: len(ms) >= SHOPPERS, 10.0)
            await asyncio.sleep(0.5)  # anything still on its way to the subscriber
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    try:
        peers, _watch = await _gains_under_a_slow_writer(mosquitto_server, tmp_path, withdraw)
    finally:
        cdp.close()
    withdrawn = chosen[0]
    assert seen == {"in_flight": True}
    assert purged_in_s[0] < PURGE_S, purged_in_s  # its acknowledgement committed (after the purge)
    # Nothing of it written or published after the withdrawal, whichever path produced it.
    assert _rows_naming(tmp_path, withdrawn) == 0
    assert _events_naming(cdp, withdrawn) == []
    assert withdrawn not in _entered(tmp_path)
    assert sorted(_entered(tmp_path)) == sorted(t for t in TOKENS if t != withdrawn)  # the others unharmed
    assert withdrawn not in peers.claims.mine
    entered_at_cdp = [e["data"]["token"] for e in cdp.events() if e["type"] == ev.PRESENCE_ENTERED]
    assert sorted(entered_at_cdp) == sorted(t for t in TOKENS if t != withdrawn)
    # Counted, never logged with its token.
    assert peers.ports.outbox.withdrawn_dropped == 1


COMMIT_WAIT_S = 0.2
"""tests/test_peers_rounds.py's slowed commit of an ``entered`` (its ``COMMIT_S``)."""


async def test_a_change_of_a_token_the_core_withdrew_is_not_applied() -> None:
    """The core withdraws a token (its roster in force no longer lists it) before the writer's purge commits and
    before the service hears of it: a change of that token that has not started is dropped, counted, never
    applied; another token's goes on."""
    applied: list[Change] = []
    withdrawn: set[str] = set()

    async def apply(change: Change, _now: float) -> None:
        applied.append(change)

    stats: dict[str, int] = {}
    changes = Changes(apply, stats, withdrawn.__contains__)
    withdrawn.add("t-1")
    changes.put(Change("t-1", None, "gw-1", 1), 0.0)
    changes.put(Change("t-1", "gw-1", "gw-2", 2), 0.0)
    changes.put(Change("t-2", None, "gw-1", 1), 0.0)
    task = asyncio.create_task(changes.run())
    try:
        await until(lambda: len(changes) == 0 and not changes.queued("t-1"), "the queue worked off")
        await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert [c.token for c in applied] == ["t-2"]
    assert stats["peers_changes_withdrawn"] == 2


async def test_a_failed_change_is_logged_by_its_kind_and_count_never_its_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def apply(change: Change, _now: float) -> None:
        raise OSError(f"the writer is gone ({change.token})")  # a message that names the token

    stats: dict[str, int] = {}
    changes = Changes(apply, stats)
    tokens = [f"t-{i}" for i in range(FAILURES_LOG_EVERY)]
    for token in tokens:
        changes.put(Change(token, None, "gw-1", 1), 0.0)
    task = asyncio.create_task(changes.run())
    caplog.set_level(logging.WARNING, logger="edge.peers.changes")
    try:
        await until(lambda: stats["peers_changes_failed"] == len(tokens), "every change tried")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    lines = [r.getMessage() for r in caplog.records if r.name == "edge.peers.changes"]
    # The first failure and the 100th, each with the kinds and counts so far; no token, no exception message.
    assert lines == [
        "peers: 1 ownership changes failed so far (OSError x1)",
        f"peers: {FAILURES_LOG_EVERY} ownership changes failed so far (OSError x{FAILURES_LOG_EVERY})",
    ]
    assert not any(token in line for line in lines for token in tokens)


async def test_a_hand_over_of_a_token_the_core_withdrew_never_claims_it(
    mosquitto_server: Mosquitto, tmp_path: Path
) -> None:
    """The core withdraws a shopper (its step: the roster in force no longer lists them) while a hand-over of
    theirs waits for this gateway's engine, before the service hears of the withdrawal: the hand-over is
    dropped, counted -- no claim on the store broker, no words; another shopper's goes on."""
    clock = StarvedClock(START + 0.5)
    peers, outbox, watch = await _gw1(mosquitto_server, tmp_path, clock)
    try:
        core = peers.ports.view
        assert isinstance(core, Core)
        assert core.roster is not None
        withdrawn, other = (s.token for s in core.roster.shoppers[:2])
        handovers = peers.handovers
        handovers.taking[withdrawn] = Handover("gw-2", 5, clock.now())
        core.withdraw(withdrawn)  # the core's step; the service has not heard yet
        await handovers._take(withdrawn, "gw-2", 5, clock.now())
        await handovers._take(other, "gw-2", 5, clock.now())
    finally:
        await stop([], peers, outbox)
        watch.close()
    assert withdrawn not in peers.claims.mine
    assert withdrawn not in handovers.taking
    assert other in peers.claims.mine
    assert peers.stats["peers_handoffs_withdrawn"] == 1


async def test_a_held_claim_of_a_token_the_core_withdrew_is_never_published_again(
    mosquitto_server: Mosquitto, tmp_path: Path
) -> None:
    """The core withdraws a shopper whose claim gw-1 holds, before the service hears: the claim is not refreshed,
    not republished on a reconnection and not moved to a new zone (counted); another shopper's claim is."""
    clock = StarvedClock(START + 0.5)
    peers, outbox, watch = await _gw1(mosquitto_server, tmp_path, clock)
    task = asyncio.create_task(peers._connection_loop())
    owners: Collector | None = None
    try:
        await until(peers.connected.is_set, "gw-1 on the store broker")
        core = peers.ports.view
        assert isinstance(core, Core)
        assert core.roster is not None
        withdrawn, other = (s.token for s in core.roster.shoppers[:2])
        topics = {peers.topics.owner(withdrawn): withdrawn, peers.topics.owner(other): other}
        owners = await asyncio.to_thread(Collector, mosquitto_server, tuple(topics))
        for token in (withdrawn, other):
            peers.claims.claim(Claim(token, "gw-1", 1, "z1"))
        await asyncio.to_thread(owners.wait_for, lambda ms: len(ms) >= 2, 10.0)
        core.withdraw(withdrawn)  # the core's step; the service has not heard yet
        peers.claims.refresh(clock.now() + CLAIM_REFRESH_S + 1.0)
        peers.claims.republish_all()
        peers.claims.said(withdrawn, "z2")
        await asyncio.to_thread(owners.wait_for, lambda ms: len(ms) >= 4, 10.0)  # the other's refresh, republish
        await asyncio.sleep(0.3)  # anything else on its way
        said = [topics[m.topic] for m in owners.messages]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if owners is not None:
            owners.close()
        await stop([], peers, outbox)
        watch.close()
    assert said.count(withdrawn) == 1  # its claim before the withdrawal, nothing after
    assert said.count(other) == 3
    assert peers.stats["peers_claims_withdrawn"] == 3
