"""The last good downlink state in SQLite (in the outbox file): roster, offers, rules, config,
and the consent withdrawals still in force, so a restart without a broker works on them.

A withdrawal is kept with the roster version it was made against: it applies to any roster of
that version or older (a retained roster the broker delivers again after a reconnect may predate
it) and is forgotten once the CDP sends a newer roster, which no longer lists the shopper.
"""

from __future__ import annotations

import asyncio

import aiosqlite

_SCHEMA = """
CREATE TABLE IF NOT EXISTS downlink_state (
    topic    TEXT PRIMARY KEY,
    payload  BLOB NOT NULL,
    received REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS withdrawals (
    token          TEXT PRIMARY KEY,
    roster_version INTEGER NOT NULL,
    at             REAL NOT NULL
);
"""


class StateStore:
    """On the outbox's connection (one file, one writer); every write commits."""

    def __init__(self, db: aiosqlite.Connection, lock: asyncio.Lock) -> None:
        self.db = db
        self.lock = lock
        """The outbox's lock: the connection is shared."""

    async def _open(self) -> None:
        await self.db.executescript(_SCHEMA)
        await self.db.commit()

    async def _save(self, topic: str, payload: bytes, now: float) -> None:
        await self.db.execute(
            "INSERT OR REPLACE INTO downlink_state (topic, payload, received) VALUES (?, ?, ?)", (topic, payload, now)
        )
        await self.db.commit()

    async def _load(self) -> dict[str, bytes]:
        async with self.db.execute("SELECT topic, payload FROM downlink_state") as cursor:
            return {str(t): bytes(p) for t, p in await cursor.fetchall()}

    async def _add_withdrawal(self, token: str, roster_version: int, now: float) -> None:
        await self.db.execute(
            "INSERT OR REPLACE INTO withdrawals (token, roster_version, at) VALUES (?, ?, ?)",
            (token, roster_version, now),
        )
        await self.db.commit()

    async def _withdrawals_for(self, roster_version: int) -> set[str]:
        """Tokens withdrawn against this roster version or a newer one."""
        async with self.db.execute(
            "SELECT token FROM withdrawals WHERE roster_version >= ?", (roster_version,)
        ) as cursor:
            return {str(r[0]) for r in await cursor.fetchall()}

    async def _save_roster(self, topic: str, payload: bytes, version: int, now: float) -> None:
        """The roster and, in the same transaction, forget withdrawals older than its version."""
        await self.db.execute("DELETE FROM withdrawals WHERE roster_version < ?", (version,))
        await self._save(topic, payload, now)

    async def open(self) -> None:
        async with self.lock:
            await self._open()

    async def save(self, topic: str, payload: bytes, now: float) -> None:
        async with self.lock:
            await self._save(topic, payload, now)

    async def load(self) -> dict[str, bytes]:
        async with self.lock:
            return await self._load()

    async def add_withdrawal(self, token: str, roster_version: int, now: float) -> None:
        async with self.lock:
            await self._add_withdrawal(token, roster_version, now)

    async def withdrawals_for(self, roster_version: int) -> set[str]:
        """Tokens withdrawn against this roster version or a newer one."""
        async with self.lock:
            return await self._withdrawals_for(roster_version)

    async def save_roster(self, topic: str, payload: bytes, version: int, now: float) -> None:
        """The roster and, in the same transaction, forget withdrawals older than its version."""
        async with self.lock:
            await self._save_roster(topic, payload, version, now)
