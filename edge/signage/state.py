"""The screen's own state database: caps, holdout groups, shown codes and overrides' first receipts.

``signage.sqlite`` in the gateway's state directory, on its own connection (WAL), beside the outbox
file rather than in it, so the screen's writes never wait on the outbox's. It holds the
:class:`~edge.signage.cap_store.SqliteCapStore` tables, the redemption codes shown
(:class:`~edge.signage.code_store.SqliteCodeStore`) and ``signage_override_seen``: when the
gateway first received each override id, so the broker re-sending the retained override after a
restart does not start its ``ttl_s`` again. Every write goes through one lock, so a consent
withdrawal's purge (the token's cap, holdout and code rows) runs after any save already under way
(and nothing of the token is written after it: the ledger and the measure forgot it first).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import aiosqlite

from edge.signage.cap_store import CapStoreError, SqliteCapStore, load_ledger, save_ledger
from edge.signage.caps import CapLedger
from edge.signage.code_store import SqliteCodeStore
from edge.signage.measure import CodeRow
from edge.signage.sqlite_store import create_tables, failing_as, open_store
from edge.tasks import finish

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
        self.codes = SqliteCodeStore(db, where)
        self.db = db
        self.where = where
        self.lock = asyncio.Lock()

    async def create(self) -> None:
        await self.caps.create()
        await self.codes.create()
        await create_tables(self.db, _SCHEMA, "the override table", self.where)

    async def ledger(self, now: float) -> CapLedger:
        async with self.lock:
            return await load_ledger(self.caps, now)

    async def save(self, ledger: CapLedger) -> int:
        async with self.lock:
            return await save_ledger(self.caps, ledger)

    async def shown_codes(self, now: float) -> list[CodeRow]:
        """The codes shown before and still redeemable at ``now`` (for :meth:`Measure.restore`)."""
        async with self.lock:
            return await self.codes.load(now)

    async def save_codes(self, take: Callable[[], tuple[Sequence[CodeRow], Sequence[str]]], now: float) -> int:
        """Write what ``take()`` (:meth:`Measure.take_codes`) returns, taken under the lock so that a
        withdrawal's purge queued before runs first; returns the number of changes. Once taken, the
        rows are written to the end even if the service is stopped meanwhile (:func:`~edge.tasks.finish`)."""
        async with self.lock:
            shown, redeemed = take()
            if shown or redeemed:
                await finish(self.codes.save(shown, redeemed, now))
            else:
                await self.codes.expire(now)
            return len(shown) + len(redeemed)

    async def forget(self, token: str) -> None:
        async with self.lock:
            await self.caps.forget(token)
            await self.codes.forget(token)

    async def forget_unlisted(self, listed: Callable[[str], bool]) -> list[str]:
        """At start: purge every row of a token the roster in force does not list (a withdrawal that
        arrived while the gateway was down, or a roster that dropped the shopper meanwhile). Codes
        shown to nobody (``token`` NULL) stay. Returns the tokens purged."""
        async with self.lock:
            with failing_as(CapStoreError, "list the tokens kept", self.where):
                sql = (
                    "SELECT token FROM signage_plays UNION SELECT token FROM signage_holdout"
                    " UNION SELECT token FROM signage_codes WHERE token IS NOT NULL"
                )
                async with self.db.execute(sql) as cursor:
                    tokens = sorted(str(r[0]) for r in await cursor.fetchall())
            gone = [t for t in tokens if not listed(t)]
            for token in gone:
                await self.caps.forget(token)
                await self.codes.forget(token)
        return gone

    async def first_seen(self, override_id: str, now: float) -> float:
        """When ``override_id`` was first received: kept from before, else ``now`` (and kept)."""
        async with self.lock:
            with failing_as(CapStoreError, "keep the override's first receipt", self.where):
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
        return float(row[0]) if row is not None else now


def open_signage_state(state_dir: Path) -> AbstractAsyncContextManager[SignageState]:
    """The screen's state in ``{state_dir}/signage.sqlite``, its tables created."""
    return open_store(state_dir / STATE_FILE, SignageState)
