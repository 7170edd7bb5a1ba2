"""The screen's own state database: caps, holdout groups and overrides' first receipts.

``signage.sqlite`` in the gateway's state directory, on its own connection (WAL), beside the outbox
file rather than in it, so the screen's writes never wait on the outbox's. It holds the
:class:`~edge.signage.cap_store.SqliteCapStore` tables and ``signage_override_seen``: when the
gateway first received each override id, so the broker re-sending the retained override after a
restart does not start its ``ttl_s`` again. Every write goes through one lock, so a consent
withdrawal's purge runs after any save already under way (and nothing of the token is written after
it: the ledger forgot it first).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from edge.signage.cap_store import CapStoreError, SqliteCapStore, load_ledger, save_ledger
from edge.signage.caps import CapLedger

STATE_FILE = "signage.sqlite"
OVERRIDE_KEEP_S = 30 * 86_400.0
"""A first receipt is kept 30 days: longer than any override lasts (at most a week), so an id the
CDP reuses within a month keeps its first receipt; then the row goes."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS signage_override_seen (id TEXT PRIMARY KEY, first_seen REAL NOT NULL);
"""


class SignageState:
    """The screen's state over one connection; see the module docstring."""

    def __init__(self, db: aiosqlite.Connection, where: str) -> None:
        self.caps = SqliteCapStore(db, where)
        self.db = db
        self.where = where
        self.lock = asyncio.Lock()

    async def create(self) -> None:
        await self.caps.create()
        try:
            await self.db.executescript(_SCHEMA)
            await self.db.commit()
        except aiosqlite.Error as err:
            raise CapStoreError(f"cannot create the override table in {self.where}: {err}") from None

    async def ledger(self, now: float) -> CapLedger:
        async with self.lock:
            return await load_ledger(self.caps, now)

    async def save(self, ledger: CapLedger) -> int:
        async with self.lock:
            return await save_ledger(self.caps, ledger)

    async def forget(self, token: str) -> None:
        async with self.lock:
            await self.caps.forget(token)

    async def first_seen(self, override_id: str, now: float) -> float:
        """When ``override_id`` was first received: kept from before, else ``now`` (and kept)."""
        async with self.lock:
            try:
                await self.db.execute(
                    "DELETE FROM signage_override_seen WHERE first_seen <= ?", (now - OVERRIDE_KEEP_S,)
                )
                await self.db.execute(
                    "INSERT OR IGNORE INTO signage_override_seen (id, first_seen) VALUES (?, ?)", (override_id, now)
                )
                await self.db.commit()
                sql = "SELECT first_seen FROM signage_override_seen WHERE id = ?"
                async with self.db.execute(sql, (override_id,)) as cursor:
                    row = await cursor.fetchone()
            except aiosqlite.Error as err:
                raise CapStoreError(f"cannot keep the override's first receipt in {self.where}: {err}") from None
        return float(row[0]) if row is not None else now


@asynccontextmanager
async def open_signage_state(state_dir: Path) -> AsyncIterator[SignageState]:
    path = state_dir / STATE_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path)
    except (OSError, aiosqlite.Error) as err:
        raise CapStoreError(f"cannot open {path}: {err}; check that state_dir is writable") from None
    try:
        await db.execute("PRAGMA journal_mode=WAL")
        state = SignageState(db, str(path))
        await state.create()
        yield state
    finally:
        await db.close()
