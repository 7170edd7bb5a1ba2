"""Redemption codes shown on screen that survive a restart: ``signage_codes`` in the state database.

Before this the codes lived only in :class:`~edge.signage.impression.RedemptionMatcher`: a shopper
who saw an offer, then the box restarted, then picked up the product or checked in with the code,
got no ``edge.offer.redeemed``. Now each code shown is a row (:class:`~edge.signage.measure.CodeRow`:
the code, the offer and its SKUs, the shopper or nobody, the impression, when it was shown, and
whether it was redeemed), written at each flush of the service and loaded into the
:class:`~edge.signage.measure.Measure` at start.

- **Bounded by the attribution window**: rows shown more than
  :data:`~edge.signage.impression.ATTRIBUTION_WINDOW_S` (7 days) ago are deleted at load and at each
  save, redeemed or not, and on a screen that shows no code at least every :data:`EXPIRE_EVERY_S`.
  A redeemed row is kept until then, so a code stays redeemed once across a restart (only
  unredeemed rows are loaded).
- **A consent withdrawal deletes every row of the token** (:meth:`SqliteCodeStore.forget`), as the cap
  store does; the state runs it under its write lock after any save under way.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import aiosqlite

from edge.signage.impression import ATTRIBUTION_WINDOW_S
from edge.signage.measure import CodeRow
from edge.signage.sqlite_store import SignageStoreError, create_tables, failing_as, open_store

EXPIRE_EVERY_S = 3600.0
"""On a screen that shows no code, expired rows still go within an hour past the window: a purge on
every loop of the service (4 a second) would commit for nothing, once an hour is noise."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS signage_codes (code TEXT PRIMARY KEY, offer TEXT NOT NULL, token TEXT,
                                          impression TEXT NOT NULL, skus TEXT NOT NULL, shown_at REAL NOT NULL,
                                          redeemed INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS signage_codes_shown_at ON signage_codes (shown_at);
CREATE INDEX IF NOT EXISTS signage_codes_token ON signage_codes (token);
"""


class CodeStoreError(SignageStoreError):
    """The code store cannot be read or written (names the file)."""


class SqliteCodeStore:
    """The shown codes over an open aiosqlite connection (the state database's); see the module docstring."""

    def __init__(
        self, db: aiosqlite.Connection, where: str = "the state database", window_s: float = ATTRIBUTION_WINDOW_S
    ) -> None:
        self.db = db
        self.where = where
        self.window_s = window_s
        self._expired_at: float | None = None

    async def create(self) -> None:
        await create_tables(self.db, _SCHEMA, "the code table", self.where)

    async def _expire(self, now: float) -> None:
        await self.db.execute("DELETE FROM signage_codes WHERE shown_at < ?", (now - self.window_s,))
        self._expired_at = now

    async def expire(self, now: float) -> None:
        """Delete the rows past the window unless that was done in the last :data:`EXPIRE_EVERY_S`."""
        if self._expired_at is not None and 0 <= now - self._expired_at < EXPIRE_EVERY_S:
            return
        with failing_as(CodeStoreError, "expire the shown codes", self.where):
            await self._expire(now)
            await self.db.commit()

    async def load(self, now: float) -> list[CodeRow]:
        """The codes still redeemable at ``now`` (shown within the window, not redeemed), oldest first."""
        with failing_as(CodeStoreError, "read the shown codes", self.where):
            await self._expire(now)
            await self.db.commit()
            sql = (
                "SELECT code, offer, token, impression, skus, shown_at FROM signage_codes"
                " WHERE redeemed = 0 ORDER BY shown_at"
            )
            async with self.db.execute(sql) as cursor:
                rows = await cursor.fetchall()
        return [
            CodeRow(str(r[0]), str(r[1]), None if r[2] is None else str(r[2]), str(r[3]), _skus(r[4]), float(r[5]))
            for r in rows
        ]

    async def save(self, shown: Sequence[CodeRow], redeemed: Sequence[str], now: float) -> None:
        """Write the codes ``shown`` since the last save, then mark ``redeemed`` ones; expire old rows."""
        with failing_as(CodeStoreError, "write the shown codes", self.where):
            await self.db.executemany(
                "INSERT OR REPLACE INTO signage_codes (code, offer, token, impression, skus, shown_at, redeemed)"
                " VALUES (?, ?, ?, ?, ?, ?, 0)",
                [(r.code, r.offer, r.token, r.impression, json.dumps(sorted(r.skus)), r.shown_at) for r in shown],
            )
            await self.db.executemany("UPDATE signage_codes SET redeemed = 1 WHERE code = ?", [(c,) for c in redeemed])
            await self._expire(now)
            await self.db.commit()

    async def forget(self, token: str) -> None:
        """A consent withdrawal: every code shown to ``token`` goes."""
        with failing_as(CodeStoreError, "purge a token's codes", self.where):
            await self.db.execute("DELETE FROM signage_codes WHERE token = ?", (token,))
            await self.db.commit()


def _skus(text: object) -> frozenset[str]:
    value = json.loads(str(text))
    return frozenset(str(s) for s in value) if isinstance(value, list) else frozenset()


def open_code_store(path: Path) -> AbstractAsyncContextManager[SqliteCodeStore]:
    """A :class:`SqliteCodeStore` on its own connection to ``path`` (the tests' way in)."""
    return open_store(path, SqliteCodeStore)
