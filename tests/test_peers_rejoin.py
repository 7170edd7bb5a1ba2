"""A gateway back from a stall says what its engine did meanwhile, once it has caught up (issue 18, session 31).

A gateway whose slot loop stopped for ``AWAY_S`` or more may have looked silent to its peers, so until it has come back
and evaluated a slot closed since it says nothing to the CDP (``edge.peers.slots.Slots.away``; the process test
``tests/test_multi_gateway_faults.py`` freezes an owner whose shopper another gateway takes over). Here nobody takes
the shopper over: gw-1, alone on a real mosquitto with its real core, pipeline and SQLite outbox, owns a shopper
standing in its zone; the time a starved process did not see pass jumps by :data:`STALL_S`, the shopper's silence
makes its engine leave the zone meanwhile, and that ``exited`` is held back -- then said once the loop has caught up,
exactly once: nothing its engine decided while away is lost or said twice.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path

from edge import events as ev
from edge.core import Core
from edge.outbox import OUTBOX_FILE
from edge.peers.timing import AWAY_S
from edge.presence import Sighting, Sightings
from tests.mosquitto import Mosquitto
from tests.peers_replay import START, TOKEN, until
from tests.test_peers_pipeline import stop
from tests.test_peers_woke_late import StarvedClock, _gw1

SCANNER = "gw-1-s"
STALL_S = AWAY_S + 5.0
"""The time the stalled process did not see pass: past ``AWAY_S``, and past the zone's exit timeout (the shopper,
unheard that long, has left the zone for its engine)."""
WAIT_S = 15.0


def _presence(tmp_path: Path) -> list[tuple[str, str]]:
    """(type, zone) of the presence events in gw-1's outbox file, in commit order."""
    db = sqlite3.connect(tmp_path / "state" / OUTBOX_FILE)
    try:
        rows = db.execute("SELECT type, body FROM outbox WHERE type LIKE 'edge.presence.%' ORDER BY seq").fetchall()
    finally:
        db.close()
    return [(str(type_), str(json.loads(body)["data"]["zone"])) for type_, body in rows if type_ != ev.PRESENCE_DWELL]


async def test_an_exit_its_engine_made_while_away_is_said_once_caught_up(
    mosquitto_server: Mosquitto, tmp_path: Path
) -> None:
    clock = StarvedClock(START + 0.5)
    peers, outbox, watch = await _gw1(mosquitto_server, tmp_path, clock)
    core = peers.ports.view
    assert isinstance(core, Core)
    core.owns = peers.owns  # the ownership filter (edge.app wires it)
    tasks = [asyncio.create_task(peers._connection_loop())]

    async def hear(token_heard: bool) -> None:
        now = clock.now()
        found = (Sighting(TOKEN, "ibeacon", SCANNER, -60, -59.0, now),) if token_heard else ()
        await peers.ports.deliver(Sightings(now, found), None)
        for sighting in found:  # what the core hands the service for consent-resolved sightings (Peers.sighted)
            peers.sighted(sighting)
        await peers.ports.publish(
            core.advance(now)
        )  # its timers (the exit of an unheard shopper), as the writer runs them

    try:
        await until(peers.connected.is_set, "gw-1 on the store broker")
        tasks += [asyncio.create_task(peers.slots.run()), asyncio.create_task(peers._handovers())]
        deadline = time.monotonic() + WAIT_S
        while ("edge.presence.entered", "z1") not in _presence(tmp_path) or peers.arbiter.owner(TOKEN) != "gw-1":
            assert time.monotonic() < deadline, "gw-1 owns the shopper and said its entry"
            await hear(True)
            await asyncio.sleep(0.25)
        before = peers.stats["peers_rejoins"]
        ran = peers.slots.ran_at
        await until(lambda: peers.slots.ran_at != ran, "a round of the slot loop ends")  # its next wake: 0.5 s on
        assert not peers.slots.away(clock.now())
        clock.jumped = STALL_S  # the process was stalled: its loop and its engine see the time jump at once
        await hear(False)  # the engine's tick: the shopper unheard for STALL_S has left z1 -- held back
        assert peers.slots.away(clock.now())
        assert peers.stats["peers_silent_away"] >= 1
        assert ("edge.presence.exited", "z1") not in _presence(tmp_path)
        deadline = time.monotonic() + WAIT_S
        while ("edge.presence.exited", "z1") not in _presence(tmp_path):
            assert time.monotonic() < deadline, "the exit said once the loop has caught up"
            await hear(False)
            await asyncio.sleep(0.25)
        await asyncio.sleep(2.0)  # nothing more comes
        assert not peers.slots.away(clock.now())
        assert peers.stats["peers_rejoins"] == before + 1
        assert peers.stats["peers_rejoin_words"] == 1
        assert _presence(tmp_path) == [("edge.presence.entered", "z1"), ("edge.presence.exited", "z1")]
    finally:
        await stop(tasks, peers, outbox)
        watch.close()
