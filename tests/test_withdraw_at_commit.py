"""The writer drops a withdrawn token's events at the commit, whichever part made them (issue 18, privacy).

"Nothing derived from a device not on the consent roster is ever emitted, stored or logged": an event made
about a shopper before their withdrawal (a peers' gain, a screen's impression, a verification) may reach the
core's writer after the core withdrew the token -- even after the purge. The outbox asks the pipeline
(:meth:`edge.pipeline.Pipeline.withdrawn`) under its lock at each commit: such an event is neither written nor
handed to the sinks, and is counted (``outbox_withdrawn_dropped``). Real core, pipeline and SQLite outbox.
"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
from pathlib import Path

from edge import events as ev
from edge.config import from_mapping
from edge.core import Core
from edge.events import Event, EventFactory
from edge.inputs import Downlink
from edge.outbox import OUTBOX_FILE, Outbox
from edge.pipeline import Pipeline
from tests.helpers import START, roster_bytes, roster_dict

CONFIG = from_mapping({"zones": [{"id": "baby", "scanners": ["gw-1"]}], "presence": {"health_interval_s": 3600.0}})
NOW = START + 10.0


def _core() -> Core:
    return Core(CONFIG, EventFactory("store-1", "gw-1", random.Random(1)))


def _entered(core: Core, token: str, at: float = NOW) -> Event:
    """An ``entered`` about ``token`` (made by some part of the gateway, handed to the writer later)."""
    return core.factory.make(ev.PRESENCE_ENTERED, at, "baby", {"token": token, "zone": "baby"}, token=token)


def _rows(state: Path, token: str) -> int:
    db = sqlite3.connect(state / OUTBOX_FILE)
    try:
        (count,) = db.execute("SELECT count(*) FROM outbox WHERE token = ?", (token,)).fetchone()
    finally:
        db.close()
    return int(count)


async def test_an_event_handed_over_before_the_withdrawal_is_not_written_or_sunk(tmp_path: Path) -> None:
    """Its commit waits for the outbox's lock while the withdrawal arrives: the core's step withdraws the token
    first, so the commit drops it (was: written, then deleted by the purge behind it, but handed to the sinks)."""
    core = _core()
    sunk: list[Event] = []
    async with Outbox(tmp_path, "urn:edge:store-1:gw-1") as outbox:
        pipeline = Pipeline(core, outbox, sinks=[sunk.append])
        await pipeline.deliver(Downlink(START, core.topics.roster, roster_bytes()))
        card, app = _entered(core, "s-card"), _entered(core, "s-app")
        async with outbox.lock:  # another commit under way
            handed = asyncio.create_task(pipeline.publish([card, app]))
            await asyncio.sleep(0.01)  # waiting for the lock
            body = json.dumps({"token": "s-card"}).encode()
            withdrawal = asyncio.create_task(pipeline.deliver(Downlink(NOW, core.topics.withdraw, body)))
            await asyncio.sleep(0.01)  # the core's step done; its purge waits for the lock behind the commit
            assert pipeline.withdrawn("s-card")
            assert not pipeline.withdrawn("s-app")
        await handed
        await withdrawal
        assert outbox.withdrawn_dropped == 1
    assert _rows(tmp_path, "s-card") == 0
    assert _rows(tmp_path, "s-app") == 1
    assert card not in sunk
    assert app in sunk
    acks = [e for e in sunk if e.type == ev.CONSENT_WITHDRAWN]
    assert [e.data for e in acks] == [{"token": "s-card", "purged_rows": 0}]


async def test_after_the_purge_a_tombstone_or_a_roster_without_the_shopper_keeps_their_events_out(
    tmp_path: Path,
) -> None:
    """Events handed over after the purge (a late impression, a gain's first words): a withdrawn token's and one
    a newer roster no longer lists are dropped and counted -- the health event says how many -- a listed one's
    are written (was: all three written after their purges)."""
    core = _core()
    sunk: list[Event] = []
    async with Outbox(tmp_path, "urn:edge:store-1:gw-1") as outbox:
        pipeline = Pipeline(core, outbox, sinks=[sunk.append])
        await pipeline.deliver(Downlink(START, core.topics.roster, roster_bytes()))
        await pipeline.deliver(Downlink(NOW, core.topics.withdraw, json.dumps({"token": "s-card"}).encode()))
        shoppers = [s for s in roster_dict()["shoppers"] if s["token"] != "s-uid"]
        await pipeline.deliver(Downlink(NOW, core.topics.roster, roster_bytes(version=2, shoppers=shoppers)))
        late = [_entered(core, token, NOW + 1) for token in ("s-card", "s-uid", "s-app")]
        await pipeline.publish(late)
        assert outbox.withdrawn_dropped == 2
        health = core.health_event(NOW + 2, await pipeline._health_counters())
    assert health.data["outbox_withdrawn_dropped"] == 2
    assert (_rows(tmp_path, "s-card"), _rows(tmp_path, "s-uid"), _rows(tmp_path, "s-app")) == (0, 0, 1)
    assert [e.token for e in sunk if e.type == ev.PRESENCE_ENTERED] == ["s-app"]
    assert sorted(e.data["token"] for e in sunk if e.type == ev.CONSENT_WITHDRAWN) == ["s-card", "s-uid"]


async def test_without_a_roster_only_tombstones_drop(tmp_path: Path) -> None:
    """Before any roster only the tombstones count: an event with a token is written (as before this change)."""
    core = _core()
    async with Outbox(tmp_path, "urn:edge:store-1:gw-1") as outbox:
        pipeline = Pipeline(core, outbox)
        await pipeline.publish([_entered(core, "s-card")])
        assert outbox.withdrawn_dropped == 0
    assert _rows(tmp_path, "s-card") == 1
