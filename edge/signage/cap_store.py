"""Frequency caps and holdout groups that survive a restart: a :class:`CapStore` and its SQLite form.

Before this, a restart emptied the :class:`~edge.signage.caps.CapLedger`: a shopper capped at two
plays a day saw four within minutes across one restart, and a changed holdout share could move them
between the groups. The ledger is now loaded from the store when signage starts and appends what it
recorded at each flush (:meth:`CapLedger.take`).

:class:`SqliteCapStore` keeps two tables in the state database (its own, beside whatever else the file
holds): ``signage_plays`` (pruned past the longest cap window, 24 h) and ``signage_holdout`` (pruned
past :data:`HOLDOUT_KEEP_S`). A consent withdrawal deletes every row of the token (:meth:`forget`),
in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Protocol

import aiosqlite

from edge.signage.caps import DAY_S, CapLedger, HoldoutRow, PlayRow
from edge.signage.sqlite_store import SignageStoreError, create_tables, failing_as, open_store
from edge.tasks import finish

HOLDOUT_KEEP_S = 90 * DAY_S
"""A holdout group is kept 90 days after it was drawn: longer than a campaign usually runs, so a
shopper stays in one group for the whole campaign, then the row goes (no token is kept for ever)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS signage_plays (screen TEXT NOT NULL, token TEXT NOT NULL, offer TEXT NOT NULL,
                                          at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS signage_plays_at ON signage_plays (at);
CREATE INDEX IF NOT EXISTS signage_plays_token ON signage_plays (token);
CREATE TABLE IF NOT EXISTS signage_holdout (campaign TEXT NOT NULL, token TEXT NOT NULL, holdout INTEGER NOT NULL,
                                            at REAL NOT NULL, PRIMARY KEY (campaign, token));
"""


class CapStoreError(SignageStoreError):
    """The cap store cannot be read or written (names the file)."""


class CapStore(Protocol):
    async def load(self, now: float) -> tuple[list[PlayRow], list[HoldoutRow]]:
        """The plays still inside a cap window at ``now`` (oldest first) and the kept holdout groups."""
        ...

    async def append(self, plays: Sequence[PlayRow], groups: Sequence[HoldoutRow]) -> None: ...

    async def forget(self, token: str) -> None:
        """A consent withdrawal: every row of ``token`` goes."""
        ...


class SqliteCapStore:
    """:class:`CapStore` over an open aiosqlite connection (the state database's)."""

    def __init__(self, db: aiosqlite.Connection, where: str = "the state database") -> None:
        self.db = db
        self.where = where

    async def create(self) -> None:
        await create_tables(self.db, _SCHEMA, "the cap tables", self.where)

    async def load(self, now: float) -> tuple[list[PlayRow], list[HoldoutRow]]:
        with failing_as(CapStoreError, "read the caps", self.where):
            await self.db.execute("DELETE FROM signage_plays WHERE at <= ?", (now - DAY_S,))
            await self.db.execute("DELETE FROM signage_holdout WHERE at <= ?", (now - HOLDOUT_KEEP_S,))
            await self.db.commit()
            sql = "SELECT screen, token, offer, at FROM signage_plays ORDER BY at"
            async with self.db.execute(sql) as cursor:
                plays = [PlayRow(str(r[0]), str(r[1]), str(r[2]), float(r[3])) for r in await cursor.fetchall()]
            async with self.db.execute("SELECT campaign, token, holdout, at FROM signage_holdout") as cursor:
                groups = [HoldoutRow(str(r[0]), str(r[1]), bool(r[2]), float(r[3])) for r in await cursor.fetchall()]
        return plays, groups

    async def append(self, plays: Sequence[PlayRow], groups: Sequence[HoldoutRow]) -> None:
        if not plays and not groups:
            return
        with failing_as(CapStoreError, "write the caps", self.where):
            await self.db.executemany(
                "INSERT INTO signage_plays (screen, token, offer, at) VALUES (?, ?, ?, ?)",
                [(p.screen, p.token, p.offer, p.at) for p in plays],
            )
            await self.db.executemany(
                "INSERT OR IGNORE INTO signage_holdout (campaign, token, holdout, at) VALUES (?, ?, ?, ?)",
                [(g.campaign, g.token, int(g.holdout), g.at) for g in groups],
            )
            await self.db.commit()

    async def forget(self, token: str) -> None:
        with failing_as(CapStoreError, "purge a token's caps", self.where):
            await self.db.execute("DELETE FROM signage_plays WHERE token = ?", (token,))
            await self.db.execute("DELETE FROM signage_holdout WHERE token = ?", (token,))
            await self.db.commit()


def open_cap_store(path: Path) -> AbstractAsyncContextManager[SqliteCapStore]:
    """A :class:`SqliteCapStore` on its own connection to ``path`` (WAL, as the outbox)."""
    return open_store(path, SqliteCapStore)


async def load_ledger(store: CapStore, now: float) -> CapLedger:
    """A ledger holding what ``store`` kept: the caps and groups as before the restart."""
    ledger = CapLedger()
    plays, groups = await store.load(now)
    ledger.load(plays, groups)
    return ledger


async def save_ledger(store: CapStore, ledger: CapLedger) -> int:
    """Append what ``ledger`` recorded since the last save; returns the number of rows written. Once
    taken, they are written to the end even if the service is stopped meanwhile (a play lost here
    would let the shopper see the offer past its cap after a restart)."""
    plays, groups = ledger.take()
    await finish(store.append(plays, groups))
    return len(plays) + len(groups)
