"""The durable outbox on a real SQLite file."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

from edge.events import PRESENCE_ENTERED, EventFactory, uuid7
from edge.outbox import Outbox


def test_uuid7_has_version_variant_and_time_order() -> None:
    rng = random.Random(1)
    first, second = uuid7(1_795_428_000.0, rng), uuid7(1_795_428_000.5, rng)
    assert first[14] == "7"
    assert first[19] in "89ab"
    assert first < second
    assert int(first[:8] + first[9:13], 16) == 1_795_428_000_000


async def test_events_are_committed_and_purged_by_token(tmp_path: Path) -> None:
    factory = EventFactory("store-1", "gw-1", random.Random(2))
    events = [
        factory.make(PRESENCE_ENTERED, 1.0, "baby", {"token": "s-1"}, token="s-1"),
        factory.make(PRESENCE_ENTERED, 2.0, "baby", {"token": "s-2"}, token="s-2"),
        factory.make(PRESENCE_ENTERED, 3.0, "baby", {"token": "s-1"}, token="s-1"),
    ]
    async with Outbox(tmp_path, factory.source) as outbox:
        await outbox.append(events)
        await outbox.append(events[:1])  # a retry of the same id is not a second row
        assert await outbox.depth() == 3
        assert await outbox.purge_token("s-1") == 2
        assert await outbox.count_token("s-1") == 0
        assert await outbox.depth() == 1
    # Another process sees what was committed (WAL, synchronous=FULL).
    with sqlite3.connect(tmp_path / "outbox.sqlite") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        rows = db.execute("SELECT id, type, token FROM outbox").fetchall()
    assert rows == [(events[1].id, PRESENCE_ENTERED, "s-2")]
