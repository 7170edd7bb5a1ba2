"""A starved owner's empty summary does not move its shoppers; a dead scanner's still does (issue 18, session 17).

At 8 gateways on a loaded machine a starved process's slot loop closed two slots back to back and the second
summary named nobody: its advert reader was as late as its loop, the slot's adverts handed to it and not yet
resolved. A peer's window is two slots, so a shopper the owner also missed in the slot before found the owner
``deaf`` and moved, and the loudness moved them back a slot later (docs/multi-gateway.md, "The quiet store's
extra moves"). Now a summary says how far its reader got (``heard_to``); below the slot's end it is incomplete
and the tokens it does not name are not spoken (late: the owner keeps them for ``SILENT_KEEP_SLOTS``), while a
summary whose reader had nothing waiting and names nobody is the dead scanner of tests/test_peers_late.py and
moves them at once. A summary without the field (an older gateway) is read as complete, as before.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import random
from pathlib import Path
from typing import Any

import msgspec
import pytest

from edge.app import build_ports
from edge.beacons.source import SourceCounters
from edge.config import from_mapping
from edge.core import Core
from edge.events import EventFactory
from edge.inputs import Advertisement
from edge.outbox import Outbox
from edge.peers.arbitration import SILENT_KEEP_SLOTS, Arbiter, Change
from edge.peers.service import Peers
from edge.peers.summary import PeerSummaryError, Slot, Summary, decode, encode, loudest
from edge.peers.topics import PeerTopics
from edge.pipeline import Pipeline
from edge.presence import Sighting
from edge.roster import parse_roster
from edge.sim.multi import MultiStore, Walk
from tests.mosquitto import Collector, Mosquitto
from tests.peers_replay import START, until
from tests.test_peers_pipeline import stop
from tests.test_peers_woke_late import StarvedClock, _whole

ALIVE = {"gw-a", "gw-b", "gw-c"}
SLOT = 100


# --- the rule, pure ------------------------------------------------------------------------------


def _owned_by_a(arbiter: Arbiter) -> None:
    arbiter.add(SLOT, "gw-a", {"tok": -60.0})
    arbiter.add(SLOT, "gw-b", {"tok": -70.0})
    arbiter.add(SLOT, "gw-c", {})
    assert [(c.new, c.why) for c in arbiter.evaluate(SLOT, ALIVE)] == [("gw-a", "new")]


def _slot(arbiter: Arbiter, slot: int, a: dict[str, float] | None, *, complete: bool) -> list[Change]:
    """gw-b (hears the shopper) and gw-c's summaries of ``slot``; gw-a's if ``a`` is given: not ``complete``,
    its reader had reached only the slot before's end."""
    if a is not None:
        arbiter.add(slot, "gw-a", a, reached=None if complete else slot - 1)
    arbiter.add(slot, "gw-b", {"tok": -70.0})
    arbiter.add(slot, "gw-c", {})
    return arbiter.evaluate(slot, ALIVE, slot + 3.5)


def test_two_incomplete_summaries_without_the_shopper_keep_them() -> None:
    """gw-a's summaries of slots 101 and 102 name nobody, closed before its reader got there: not deaf. The same
    two summaries complete (its reader had nothing waiting) move the shopper at 102 (tests/test_peers_late.py)."""
    starved, dead = Arbiter(), Arbiter()
    _owned_by_a(starved)
    _owned_by_a(dead)
    for slot in (SLOT + 1, SLOT + 2):
        assert _slot(starved, slot, {}, complete=False) == []
    assert _slot(dead, SLOT + 1, {}, complete=True) == []
    assert [(c.old, c.new, c.why) for c in _slot(dead, SLOT + 2, {}, complete=True)] == [("gw-a", "gw-b", "deaf")]
    # its reader caught up: the next summary names the shopper, nothing moved
    assert _slot(starved, SLOT + 3, {"tok": -60.0}, complete=True) == []
    assert (starved.owner("tok"), starved.epoch("tok")) == ("gw-a", 1)


def test_an_incomplete_summary_beside_a_complete_miss_moves_them_as_a_missing_one_would() -> None:
    """The incomplete summary says nothing, as if it had not come: the window's other summary, complete and
    without the shopper, makes the owner ``deaf`` as it did beside a summary that missed its deadline."""
    arbiter = Arbiter()
    _owned_by_a(arbiter)
    assert _slot(arbiter, SLOT + 1, {"tok": -61.0}, complete=True) == []
    assert _slot(arbiter, SLOT + 2, {}, complete=False) == []  # 101 names it: heard in the window
    moved = _slot(arbiter, SLOT + 3, {}, complete=True)  # 102 says nothing, 103 lacks it: deaf, as before
    assert [(c.new, c.why) for c in moved] == [("gw-b", "deaf")]


def test_an_owner_whose_reader_stays_behind_loses_them_after_the_keep() -> None:
    """A reader stuck at slot 100's end (a process that stays starved) is a silent owner: its summaries keep the
    shoppers while the reader is at most SILENT_KEEP_SLOTS slots behind (up to slot 103's), then for
    SILENT_KEEP_SLOTS more slots, as any last summary does; then they move ``silent``."""
    arbiter = Arbiter()
    _owned_by_a(arbiter)
    last = SLOT + 2 * SILENT_KEEP_SLOTS
    moved: list[Change] = []
    for slot in range(SLOT + 1, last + 2):
        arbiter.add(slot, "gw-a", {}, reached=SLOT)
        arbiter.add(slot, "gw-b", {"tok": -70.0})
        arbiter.add(slot, "gw-c", {})
        assert moved == [], slot
        moved += arbiter.evaluate(slot, ALIVE, slot + 3.5)
    assert [(c.new, c.why) for c in moved] == [("gw-b", "silent")]


def test_a_reader_a_moment_behind_keeps_them_slot_after_slot() -> None:
    """Incomplete summaries every slot, each reader a slot behind (a long load): the shopper stays, each summary
    keeping as one of the slot before would."""
    arbiter = Arbiter()
    _owned_by_a(arbiter)
    for slot in range(SLOT + 1, SLOT + 20):
        assert _slot(arbiter, slot, {}, complete=False) == [], slot
    assert arbiter.owner("tok") == "gw-a"


def test_an_incomplete_summary_that_names_the_shopper_counts() -> None:
    """What an incomplete summary names is heard: a louder gateway's lead over it moves the shopper as ever."""
    arbiter = Arbiter()
    _owned_by_a(arbiter)
    moved: list[Change] = []
    for slot in range(SLOT + 1, SLOT + 5):
        arbiter.add(slot, "gw-a", {"tok": -80.0}, reached=slot - 1)
        arbiter.add(slot, "gw-b", {"tok": -60.0})
        arbiter.add(slot, "gw-c", {})
        moved += arbiter.evaluate(slot, ALIVE)
    assert [(c.new, c.why) for c in moved] == [("gw-b", "lead")]


# --- the field --------------------------------------------------------------------------------


def test_heard_to_says_whether_the_reader_reached_the_slots_end() -> None:
    slot = Slot("gw-2")
    slot.add(Sighting("tok-a", "ibeacon", "s-2", -60, -59.0, SLOT + 0.3))
    assert slot.resolved_to == SLOT + 0.3
    behind = decode(encode(slot.close(SLOT, heard_to=SLOT + 0.3)), peer="gw-2")
    assert (behind.heard_to, behind.reached, behind.complete) == (SLOT + 0.3, SLOT - 1, False)
    reached = decode(encode(slot.close(SLOT + 1, heard_to=SLOT + 1.9999)), peer="gw-2")
    assert (reached.heard_to, reached.reached, reached.complete) == (SLOT + 1.999, SLOT, False)  # not rounded up
    done = decode(encode(slot.close(SLOT + 2, heard_to=SLOT + 3.0004)), peer="gw-2")
    assert (done.heard_to, done.complete) == (SLOT + 3.0, True)
    old = decode(encode(Summary("gw-2", SLOT, ())), peer="gw-2")  # an older gateway: no field, complete
    assert b"heard_to" not in encode(old)
    assert (old.heard_to, old.complete) == (None, True)


def test_a_bad_heard_to_is_rejected_naming_the_field() -> None:
    """Hostile input: ``heard_to`` out of range or of the wrong type fails the summary with the field named."""
    raw = json.loads(encode(Summary("gw-2", SLOT, ())))
    for bad in (-1, -0.5, 2**41, "1e400", "x", [1], {"a": 1}, True):
        raw["heard_to"] = bad
        payload = json.dumps(raw).replace('"1e400"', "1e400")  # past a double's range: infinity, out of range
        with pytest.raises(PeerSummaryError, match=r"\$\.heard_to"):
            decode(payload.encode(), peer="gw-2")


# --- a starved gateway on a real broker -------------------------------------------------------------------


@dataclasses.dataclass
class Reader:
    """gw-1's advert source and reader as its starved process runs them: :meth:`hand` is the source handing an
    advert to the core's writer (what a replay's pump or the bleak callback does: the source's counter), and
    :meth:`resolve` the writer taking what was handed (``Core.on_advert``: its counter, and the sighting into
    the slot). The gateway's readings report the source's counters, as ``edge run``'s do."""

    core: Core
    counters: SourceCounters = dataclasses.field(default_factory=SourceCounters)
    waiting: list[Advertisement] = dataclasses.field(default_factory=list)

    def hand(self, advert: Advertisement) -> None:
        self.counters.adverts += 1
        self.waiting.append(advert)

    def resolve(self) -> None:
        for advert in self.waiting:
            self.core.on_advert(advert)
        self.waiting.clear()

    # edge.ports.Readings: only the source's counters are read here
    @property
    def turning(self) -> asyncio.Event:
        return asyncio.Event()

    def beats(self) -> int:
        return 0

    @property
    def connected(self) -> asyncio.Event | None:
        return None

    def source_counters(self) -> dict[str, int]:
        return dict(dataclasses.asdict(self.counters))

    def mqtt(self) -> dict[str, int]:
        return {}

    def publish_latency(self) -> tuple[list[tuple[str, float]], float] | None:
        return None

    def decisions(self) -> dict[tuple[str, str], int]:
        return {}


async def _run_gw1(
    server: Mosquitto, tmp_path: Path, *, starved: bool, handed: bool
) -> tuple[list[dict[str, Any]], str, int]:
    """gw-1 of a three-gateway store (real core, pipeline, SQLite outbox, peers connection and slot loop on a
    clock the test starves), hearing one standing shopper: its reader resolves the shopper's advert of slot
    s0; then nothing more is resolved in slots s0 + 1 and s0 + 2: ``starved``, its loop wakes 0.6 s past s0 + 2
    (it closes s0 + 1 and s0 + 2 back to back, as traced), and (``handed``) adverts handed to its writer wait
    there, or its source has not handed any yet; not ``starved``, its scanners died (the loop on time, nothing
    waiting). Then its reader catches up. Its whole summaries as a peer reads them off the broker, the token, s0."""
    multi = MultiStore(gateways=3, seed=1, start=START)
    config = from_mapping(multi.config(0, mqtt={"url": server.url, "reconnect_initial_s": 0.05}))
    assert config.store is not None
    clock = StarvedClock(START + 0.9)
    watch = Collector(server, (PeerTopics(config.store.topic_prefix, "store-1", "gw-1").sightings(),))
    core = Core(config, EventFactory("store-1", "gw-1", random.Random(1)))
    core.set_roster(parse_roster(multi.roster(1)), START)
    walk = Walk(0, START, (0,), 60.0)
    advert = next(iter(multi.adverts([walk], 0, 60.0)))
    reader = Reader(core)
    outbox = Outbox(tmp_path / "state", "urn:edge:store-1:gw-1")
    await outbox.__aenter__()
    ports = build_ports(config, core, Pipeline(core, outbox), clock, tmp_path / "state", reader)
    peers = Peers(ports, config.store)
    core.owns, core.sighted = peers.owns, peers.sighted  # as edge.app wires them
    tasks = [asyncio.create_task(peers._connection_loop())]

    def heard(at: float) -> Advertisement:
        return msgspec.structs.replace(advert, at=at)

    try:
        await until(peers.connected.is_set, "gw-1 on the store broker")
        if clock.now() % 1.0 > 0.3:
            await asyncio.sleep(1.05 - clock.now() % 1.0)
        s0 = math.floor(clock.now())
        reader.hand(heard(clock.now()))
        reader.resolve()
        tasks.append(asyncio.create_task(peers.slots.run()))
        await asyncio.to_thread(watch.wait_for, lambda ms: len(_whole(ms)) >= 1, 10.0)
        await asyncio.sleep(s0 + 1.2 - clock.now())  # in slot s0 + 1
        if handed:
            reader.hand(heard(clock.now()))  # handed to the writer, which does not get to it
        if starved:
            clock.jumped = 0.6  # the loop wakes 0.6 s past s0 + 2: closes s0 + 1, then s0 + 2 0.4 s later
        await asyncio.to_thread(watch.wait_for, lambda ms: len(_whole(ms)) >= 3, 10.0)
        if starved:
            reader.hand(heard(clock.now()))
        reader.resolve()  # caught up (its scanners back)
        await asyncio.to_thread(watch.wait_for, lambda ms: len(_whole(ms)) >= 4, 10.0)
    finally:
        await stop(tasks, peers, outbox)
        watch.close()
    assert peers.stats["peers_slots_incomplete"] == (2 if starved else 0)
    return _whole(watch.messages)[:4], walk.token, s0


def _at_a_peer(summaries: list[dict[str, Any]], token: str) -> list[Change]:
    """gw-2's arbitration over gw-1's summaries as received (gw-2 hears the shopper 15 dB lower, gw-3 not at
    all): the changes it makes, in order."""
    arbiter = Arbiter()
    changes: list[Change] = []
    for body in summaries:
        summary = decode(json.dumps(body).encode(), peer="gw-1")
        scores = {e.token: loudest(e) for e in summary.tokens if e.heard}
        arbiter.add(summary.slot, "gw-1", scores, reached=summary.reached)
        arbiter.add(summary.slot, "gw-2", {token: -75.0})
        arbiter.add(summary.slot, "gw-3", {})
        changes += arbiter.evaluate(summary.slot, {"gw-1", "gw-2", "gw-3"})
    return changes


@pytest.mark.parametrize("handed", [True, False], ids=["waiting-for-the-writer", "not-handed-yet"])
async def test_a_starved_owners_empty_summaries_keep_its_shopper(
    mosquitto_server: Mosquitto, tmp_path: Path, handed: bool
) -> None:
    """The old code sent the two empty summaries without ``heard_to``: complete, so gw-2 moved the shopper
    ``deaf`` at s0 + 2 (and back by the loudness later)."""
    whole, token, s0 = await _run_gw1(mosquitto_server, tmp_path, starved=True, handed=handed)
    assert [b["slot"] for b in whole] == [s0, s0 + 1, s0 + 2, s0 + 3]
    assert token in json.dumps(whole[0])
    assert whole[0]["heard_to"] >= s0 + 1
    for body in whole[1:3]:  # back to back, naming nobody: its reader had not reached the slot's end
        assert body["tokens"] == []
        assert body["heard_to"] < body["slot"] + 1
    assert token in json.dumps(whole[3])  # caught up
    assert [(c.new, c.why) for c in _at_a_peer(whole, token)] == [("gw-1", "new")]


async def test_a_dead_scanners_empty_summaries_still_move_its_shopper(
    mosquitto_server: Mosquitto, tmp_path: Path
) -> None:
    """The same loop, nothing handed to its reader: the summaries that name nobody are complete and gw-2 moves
    the shopper at once (tests/test_peers_late.py's dead scanners)."""
    whole, token, s0 = await _run_gw1(mosquitto_server, tmp_path, starved=False, handed=False)
    assert [b["slot"] for b in whole] == [s0, s0 + 1, s0 + 2, s0 + 3]
    for body in whole[1:3]:
        assert body["tokens"] == []
        assert body["heard_to"] >= body["slot"] + 1
    moved = _at_a_peer(whole, token)
    assert [(c.new, c.why) for c in moved[:2]] == [("gw-1", "new"), ("gw-2", "deaf")]
