"""A write that has taken its rows out of memory finishes even when the gateway stops it midway
(edge.tasks.finish): the events of a pipeline flush, the codes of a signage save and the plays of
a cap ledger save are in their SQLite files afterwards. Each test cancels the writer right after
it handed its ``executemany`` to aiosqlite's thread: before the fix the commit never came and the
rows were in neither place (seen in CI as a code on screen just before a stop missing from the
state file)."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from pathlib import Path

import pytest

from edge.core import Core
from edge.events import EventFactory
from edge.outbox import OUTBOX_FILE, Outbox
from edge.pipeline import Pipeline
from edge.signage.caps import CapLedger
from edge.signage.measure import CodeRow
from edge.signage.state import STATE_FILE, open_signage_state
from edge.sim.store import SimulatedStore
from edge.tasks import finish
from tests.helpers import START


async def _cut(write: asyncio.Task[object]) -> None:
    """Let ``write`` reach its first real wait (the database thread), then stop it."""
    await asyncio.sleep(0)
    assert not write.done()
    write.cancel()
    await asyncio.wait({write})
    assert write.cancelled(), "the stop still reaches the caller"


async def test_finish_runs_the_write_to_its_end_and_then_passes_the_stop_on() -> None:
    steps: list[str] = []

    async def write() -> str:
        steps.append("taken")
        await asyncio.sleep(0.05)
        steps.append("committed")
        return "done"

    assert await finish(write()) == "done"
    task: asyncio.Task[object] = asyncio.create_task(finish(write()))
    await _cut(task)
    assert steps == ["taken", "committed", "taken", "committed"]


async def test_a_failed_write_finished_during_a_stop_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    async def write() -> None:
        await asyncio.sleep(0.01)
        raise OSError("disk full")

    await _cut(asyncio.create_task(finish(write())))
    assert "disk full" in caplog.text


async def test_a_pipeline_flush_cut_by_the_stop_still_commits_its_batch(tmp_path: Path) -> None:
    store = SimulatedStore(seed=1)
    factory = EventFactory("store-1", "gw-1", random.Random(1))
    core = Core(store.config, factory)
    events = [factory.make("edge.gateway.health", START + i, "gw-1", {"n": i}) for i in range(50)]
    sunk: list[object] = []
    async with Outbox(tmp_path, "urn:edge:store-1:gw-1") as outbox:
        pipeline = Pipeline(core, outbox, sinks=[sunk.append])
        task: asyncio.Task[object] = asyncio.create_task(pipeline.publish(events))
        await _cut(task)
        await pipeline.flush()  # the stop's own last flush: nothing left to take
    with sqlite3.connect(tmp_path / OUTBOX_FILE) as db:
        (count,) = db.execute("SELECT COUNT(*) FROM outbox").fetchone()
    assert count == 50
    assert len(sunk) == 50


async def test_a_code_save_cut_by_the_stop_is_still_in_the_state_file(tmp_path: Path) -> None:
    rows = [CodeRow(f"OAT25-{i:06d}", "oat-25", f"s-{i}", f"p-{i}", frozenset({"42"}), START) for i in range(20)]
    handed: list[list[CodeRow]] = [rows]

    def take() -> tuple[list[CodeRow], list[str]]:
        return (handed.pop() if handed else []), []

    async with open_signage_state(tmp_path) as state:
        await state.save_codes(lambda: ([], []), START - 60)  # a flush a minute ago expired the old rows
        task: asyncio.Task[object] = asyncio.create_task(state.save_codes(take, START))
        await _cut(task)
        assert await state.save_codes(take, START) == 0, "taken once (no expiry due: nothing committed)"
    with sqlite3.connect(tmp_path / STATE_FILE) as db:
        saved = db.execute("SELECT code FROM signage_codes ORDER BY code").fetchall()
    assert [code for (code,) in saved] == [r.code for r in rows]


async def test_a_cap_save_cut_by_the_stop_still_records_the_plays(tmp_path: Path) -> None:
    async with open_signage_state(tmp_path) as state:
        ledger = CapLedger()
        for i in range(10):
            ledger.record("screen-3", f"s-{i}", "oat-25", START + i)
        task: asyncio.Task[object] = asyncio.create_task(state.save(ledger))
        await _cut(task)
        assert await state.save(ledger) == 0, "taken once"
    with sqlite3.connect(tmp_path / STATE_FILE) as db:
        (count,) = db.execute("SELECT COUNT(*) FROM signage_plays").fetchone()
    assert count == 10
