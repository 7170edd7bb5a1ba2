"""The durable outbox on a real SQLite file."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from edge.errors import OutboxError
from edge.events import PRESENCE_ENTERED, EventFactory, uuid7
from edge.outbox import Outbox, runs
from edge.signage.sqlite_store import SignageStoreError
from edge.signage.state import STATE_FILE, open_signage_state


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


def test_runs_of_consecutive_rows() -> None:
    assert runs([]) == []
    assert runs([4]) == [(4, 4)]
    assert runs([1, 2, 3, 7, 8, 10]) == [(1, 3), (7, 8), (10, 10)]


async def test_claims_number_rows_in_order_across_gaps_and_marks_by_runs(tmp_path: Path) -> None:
    """Rows deleted between others (a withdrawal) split the claim into runs: the numbers stay
    gapless and in row order, bodies carry them, and a second claim keeps them."""
    factory = EventFactory("store-1", "gw-1", random.Random(3))
    tokens = ["s-1", "s-1", "s-2", "s-2", "s-1", "s-3", "s-2", "s-1"]
    events = [factory.make(PRESENCE_ENTERED, float(i), "baby", {"token": t}, token=t) for i, t in enumerate(tokens)]
    async with Outbox(tmp_path, factory.source) as outbox:
        await outbox.append(events)
        assert await outbox.purge_token("s-2") == 3
        first = await outbox.claim(0, 3)
        rest = await outbox.claim(first[-1].seq, 10)
        rows = first + rest
        assert [r.seq for r in rows] == [1, 2, 5, 6, 8]
        assert [r.sequence for r in rows] == [1, 2, 3, 4, 5]
        assert all(r.body.endswith(b',"sequence":"%d"}' % r.sequence) for r in rows)
        again = await outbox.claim(0, 10)
        assert [(r.seq, r.sequence) for r in again] == [(r.seq, r.sequence) for r in rows]
        await outbox.mark_sent([8, 1, 2, 6])  # out of order, runs (1, 2) and (6, 6) and (8, 8)
        assert [(r.seq, r.sequence) for r in await outbox.claim(0, 10)] == [(5, 3)]
    with sqlite3.connect(tmp_path / "outbox.sqlite") as db:
        assert db.execute("SELECT seq, sent, sequence FROM outbox ORDER BY seq").fetchall() == [
            (1, 1, 1), (2, 1, 2), (5, 0, 3), (6, 1, 4), (8, 1, 5)
        ]  # fmt: skip


async def test_a_damaged_state_file_is_named_kept_and_what_to_do_said(tmp_path: Path) -> None:
    """A file SQLite reads as no database (a failing SD card): the outbox and the screen's state refuse it with
    what to do -- not "check that state_dir is writable", which sent an operator to the wrong place -- and leave
    it where it is (it may hold unsent events, and shopper tokens only the operator may now delete)."""
    damaged = b"\x00\x13 not SQLite " * 4096
    (tmp_path / "outbox.sqlite").write_bytes(damaged)
    with pytest.raises(OutboxError, match=r"outbox\.sqlite: file is not a database; the file is damaged: stop"):
        async with Outbox(tmp_path, "urn:edge:store-1:gw-1"):
            pass
    assert (tmp_path / "outbox.sqlite").read_bytes() == damaged
    (tmp_path / STATE_FILE).write_bytes(damaged)
    with pytest.raises(SignageStoreError, match=r"file is not a database; the file is damaged: stop"):
        async with open_signage_state(tmp_path):
            pass
    assert (tmp_path / STATE_FILE).read_bytes() == damaged
