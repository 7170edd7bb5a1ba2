"""A gateway's slot loop never waits on its own writer (issue 18, "Rounds that never wait on the writer").

A gateway that joins a store whose peers hold many shoppers (or whose peer dies) gains many at once, and
each gain's first words wait for the core's writer to commit them. The round that evaluated the slot used
to await each gain: beside a busy loop a joining gateway sent no summary for 8 slots and its peers moved
its shoppers 'silent'. Now the round only decides and :mod:`edge.peers.changes` applies the changes on a
task of its own (one token's in order); a consent withdrawal purges a token's queued change.

gw-1 of a three-gateway store on a real mosquitto (its real core, pipeline and SQLite outbox, whose commits
of ``entered`` are slowed to one at a time, :data:`COMMIT_S` each; its peers connection, slot loop and
changes task), alone on the store
broker: its engine places :data:`SHOPPERS` shoppers in its zone first, then its scanners' sightings make the
arbitration give it all of them in one slot, and the 50 gains take the writer ~10 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from edge import events as ev
from edge.core import Core
from edge.inputs import Downlink
from edge.outbox import OUTBOX_FILE, Outbox
from edge.peers.arbitration import Change
from edge.peers.changes import Changes
from edge.peers.service import Peers
from edge.peers.timing import CHANGES_IN_FLIGHT
from edge.presence import Sighting, Sightings
from edge.sim.multi import Walk
from tests.mosquitto import Collector, Mosquitto
from tests.peers_replay import START, until
from tests.test_peers_pipeline import stop
from tests.test_peers_woke_late import StarvedClock, _gw1, _whole

SHOPPERS = 50
TOKENS = tuple(Walk(i, 0.0, (), 0.0).token for i in range(SHOPPERS))
COMMIT_S = 0.2
"""What each of the outbox's commits takes here (a loaded box's writer: ~55 ms a delivery was measured at 8
gateways beside a busy loop): the 50 gains' first words take the writer ~10 s."""
WATCH_S = 5.0
"""How long the summaries are watched while the gains are applied."""
WAIT_S = 30.0
SCANNER = "gw-1-s"


async def _until(predicate: Callable[[], bool], what: str) -> None:
    """As :func:`tests.peers_replay.until`, within :data:`WAIT_S` (the writer's ~10 s of gains)."""
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        assert time.monotonic() < deadline, f"{what}: not within {WAIT_S} s"
        await asyncio.sleep(0.05)


@dataclasses.dataclass
class SlowWriter:
    """What the slowed outbox did: the tokens of its ``entered`` commits in the order they came to it (a fair
    lock: the order they are committed in), and the times those commits ended."""

    came: list[str] = dataclasses.field(default_factory=list)
    committed: list[float] = dataclasses.field(default_factory=list)


def _slowed(outbox: Outbox) -> SlowWriter:
    """Slow ``outbox``'s commits of ``entered`` events (a real SQLite file; one at a time, :data:`COMMIT_S`
    each: the gains' first words). Other commits (a withdrawal's) go at once."""
    append = outbox.append
    one = asyncio.Lock()
    writer = SlowWriter()

    async def slow(batch: list[ev.Event]) -> None:
        entered = [str(e.data["token"]) for e in batch if e.type == ev.PRESENCE_ENTERED]
        if not entered:
            await append(batch)
            return
        writer.came += entered
        async with one:
            await asyncio.sleep(COMMIT_S)
            await append(batch)
        writer.committed.append(time.monotonic())

    outbox.append = slow  # type: ignore[method-assign]
    return writer


async def _heard(peers: Peers, clock: StarvedClock, tokens: list[str], into_slot: bool) -> None:
    """One round of gw-1's scanner hearing ``tokens``: into its core (its engine), and into the slot."""
    now = clock.now()
    sightings = tuple(Sighting(token, "ibeacon", SCANNER, -60, -59.0, now) for token in tokens)
    await peers.ports.deliver(Sightings(now, sightings), None)
    if into_slot:  # what the core hands the service for consent-resolved sightings (Peers.sighted)
        for sighting in sightings:
            peers.sighted(sighting)


def _entered(tmp_path: Path) -> list[str]:
    """The tokens of the ``entered`` events in gw-1's outbox file, in commit order."""
    db = sqlite3.connect(tmp_path / "state" / OUTBOX_FILE)
    try:
        rows = db.execute("SELECT body FROM outbox WHERE type = ? ORDER BY seq", (ev.PRESENCE_ENTERED,)).fetchall()
    finally:
        db.close()
    return [str(json.loads(body)["data"]["token"]) for (body,) in rows]


async def _gains_under_a_slow_writer(
    server: Mosquitto,
    tmp_path: Path,
    during: Callable[[Peers, StarvedClock, list[str], SlowWriter], Awaitable[None]],
) -> tuple[Peers, Collector]:
    """gw-1 gains :data:`SHOPPERS` shoppers at once with a slow writer; ``during`` runs once the gains are
    decided while its scanners keep hearing the tokens in the list it is given (it may take one out: a
    withdrawn shopper's sightings no longer reach the service), and the slowed writer. The service's tasks
    are stopped and the outbox closed when it returns."""
    clock = StarvedClock(START + 0.5)
    peers, outbox, watch = await _gw1(server, tmp_path, clock, shoppers=SHOPPERS)
    peers.ports.subscribe(peers._on_event)  # withdrawals reach the service (Peers.run does this)
    core = peers.ports.view
    assert isinstance(core, Core)
    core.owns = peers.owns  # the ownership filter (edge.app wires it)
    heard = list(TOKENS)
    tasks = [asyncio.create_task(peers._connection_loop())]
    try:
        await until(peers.connected.is_set, "gw-1 on the store broker")
        deadline = time.monotonic() + WAIT_S
        while not all(peers.ports.view.zone_of(t) for t in TOKENS):  # its engine places them (their events held)
            assert time.monotonic() < deadline, "gw-1's engine places the shoppers"
            await _heard(peers, clock, heard, into_slot=False)
            await asyncio.sleep(0.25)
        writer = _slowed(outbox)

        async def hear() -> None:
            while True:
                await _heard(peers, clock, heard, into_slot=True)
                await asyncio.sleep(0.25)

        tasks.append(asyncio.create_task(hear()))
        tasks += [asyncio.create_task(peers.slots.run()), asyncio.create_task(peers._handovers())]
        await until(lambda: peers.stats["peers_changes_queued"] >= SHOPPERS, "the slot evaluated: 50 gains decided")
        await during(peers, clock, heard, writer)
    finally:
        await stop(tasks, peers, outbox)
        watch.close()
    return peers, watch


async def test_summaries_go_out_every_slot_while_fifty_gains_wait_on_the_writer(
    mosquitto_server: Mosquitto, tmp_path: Path
) -> None:
    watched: dict[str, int] = {}

    async def watch_summaries(peers: Peers, _clock: StarvedClock, _heard: list[str], writer: SlowWriter) -> None:
        await asyncio.sleep(WATCH_S)
        watched["entered_committed"] = len(writer.committed)
        await _until(lambda: len(_entered(tmp_path)) >= SHOPPERS, "every gain's entered committed")

    peers, watch = await _gains_under_a_slow_writer(mosquitto_server, tmp_path, watch_summaries)
    # The writer is the slow one: after WATCH_S most gains' first words still wait for it.
    assert 0 < watched["entered_committed"] < SHOPPERS / 2
    # Meanwhile a summary went out for every slot, each once, in order (the old round: slots 1001, 1002, then 1012).
    slots = [s["slot"] for s in _whole(watch.messages)]
    assert len(slots) >= WATCH_S, slots
    assert slots == list(range(slots[0], slots[0] + len(slots))), slots
    assert peers.stats["peers_slots_skipped"] == 0
    # Every gain applied, once: one entered per shopper, each with its own claim.
    assert sorted(_entered(tmp_path)) == sorted(TOKENS)
    assert sorted(peers.claims.mine) == sorted(TOKENS)
    assert peers.stats["peers_changes_queued"] == SHOPPERS
    assert peers.stats["peers_changes_deferred"] == 0


async def test_a_withdrawal_purges_a_queued_gain(mosquitto_server: Mosquitto, tmp_path: Path) -> None:
    """50 gains, CHANGES_IN_FLIGHT applied at once behind the writer's ~10 s: the withdrawal of a shopper whose
    gain still waits its turn drops it -- never claimed, never spoken for -- and a later change of the same
    shopper queued behind it (a loss to gw-2, as the arbitration decides on a lead) too."""
    seen: dict[str, bool] = {}
    chosen: list[str] = []

    async def withdraw(peers: Peers, clock: StarvedClock, heard: list[str], _writer: SlowWriter) -> None:
        await _until(lambda: len(peers.changes) <= SHOPPERS - CHANGES_IN_FLIGHT, "the first gains under way")
        withdrawn = [t for t in TOKENS if peers.changes.queued(t)][-1]
        chosen.append(withdrawn)
        epoch = peers.arbiter.epoch(withdrawn)
        peers.changes.put(Change(withdrawn, "gw-1", "gw-2", epoch + 1, "lead"), clock.now())
        seen["queued"] = peers.changes.queued(withdrawn)
        heard.remove(withdrawn)
        body = json.dumps({"token": withdrawn}).encode()
        await peers.ports.deliver(Downlink(clock.now(), peers.ports.topics.withdraw, body), None)
        seen["queued_after"] = peers.changes.queued(withdrawn)
        await _until(lambda: len(_entered(tmp_path)) >= SHOPPERS - 1, "the other gains' entered committed")
        await asyncio.sleep(3 * COMMIT_S)

    peers, _watch = await _gains_under_a_slow_writer(mosquitto_server, tmp_path, withdraw)
    withdrawn = chosen[0]
    assert seen == {"queued": True, "queued_after": False}
    assert withdrawn not in peers.claims.mine  # never claimed
    assert withdrawn not in _entered(tmp_path)  # never spoken for
    assert sorted(_entered(tmp_path)) == sorted(t for t in TOKENS if t != withdrawn)
    assert sorted(peers.claims.mine) == sorted(t for t in TOKENS if t != withdrawn)
    assert peers.stats["peers_moves_lead"] == 0  # the queued loss was never applied
    assert peers.stats["peers_moves_new"] == SHOPPERS - 1


async def test_one_tokens_changes_in_order_and_a_withdrawn_tokens_dropped() -> None:
    applied: list[Change] = []
    gate = asyncio.Event()

    async def apply(change: Change, _now: float) -> None:
        await gate.wait()  # a writer that has not committed yet
        applied.append(change)

    stats: dict[str, int] = {}
    changes = Changes(apply, stats)
    first, second = Change("t-1", None, "gw-1", 1), Change("t-1", "gw-1", "gw-2", 2)
    gained, lost = Change("t-2", None, "gw-1", 1), Change("t-2", "gw-1", "gw-3", 2)
    for change in (first, gained, second, lost):
        changes.put(change, 0.0)
    task = asyncio.create_task(changes.run())
    try:
        await asyncio.sleep(0.01)  # each token's first change is being applied (waiting), its second queued
        assert changes.queued("t-1")
        assert changes.queued("t-2")
        assert len(changes) == 2
        changes.forget("t-2")  # withdrawn: its queued change is dropped
        assert not changes.queued("t-2")
        gate.set()
        await until(lambda: len(applied) == 3, "the changes applied")
        await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert applied.index(first) < applied.index(second)  # one token's changes in the order decided
    assert lost not in applied
    assert sorted(applied, key=id) == sorted([first, second, gained], key=id)
    assert (stats["peers_changes_queued"], stats["peers_changes_queued_max"], len(changes)) == (4, 4, 0)
