"""The one last-good store: the downlink state a restart without a broker works on.

Every retained downlink route's last accepted payload (the roster, offers, rules, the remote
config: :mod:`edge.router`) and the consent withdrawals in force, in SQLite, in the outbox file
(one file, one connection, one writer: the pipeline). Loaded once at start and restored in the
router's fixed order before the first message is handled. Tools (``edge doctor``, ``edge
calibrate``) read it with :func:`read_last_good`, not with SQL of their own.
"""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import aiosqlite

from edge.outbox import OUTBOX_FILE

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


@dataclass(frozen=True, slots=True)
class LastGood:
    """What the store holds: topic → payload, and token → roster version of each withdrawal."""

    payloads: dict[str, bytes] = field(default_factory=dict)
    withdrawals: dict[str, int] = field(default_factory=dict)
    received: dict[str, float] = field(default_factory=dict)
    """topic → when its payload was accepted (Unix seconds); filled by :func:`read_last_good` only
    (the gateway's own restore does not need it)."""


class StateStore:
    """On the outbox's connection (one file, one writer); every write commits.

    A withdrawal is kept with the roster version it was made against: it applies to any roster
    of that version or older and is forgotten once the CDP sends a newer roster."""

    def __init__(self, db: aiosqlite.Connection, lock: asyncio.Lock) -> None:
        self.db = db
        self.lock = lock
        """The outbox's lock: the connection is shared."""
        self._saved: dict[str, int] | None = None
        """The withdrawals as last saved (None: not saved by this process yet)."""

    async def open(self) -> None:
        async with self.lock:
            await self.db.executescript(_SCHEMA)
            await self.db.commit()

    async def save(self, topic: str, payload: bytes, now: float) -> None:
        async with self.lock:
            await self.db.execute(
                "INSERT OR REPLACE INTO downlink_state (topic, payload, received) VALUES (?, ?, ?)",
                (topic, payload, now),
            )
            await self.db.commit()

    async def load(self) -> dict[str, bytes]:
        async with self.lock, self.db.execute("SELECT topic, payload FROM downlink_state") as cursor:
            return {str(t): bytes(p) for t, p in await cursor.fetchall()}

    async def load_all(self) -> LastGood:
        payloads = await self.load()
        async with self.lock, self.db.execute("SELECT token, roster_version FROM withdrawals") as cursor:
            withdrawals = {str(t): int(v) for t, v in await cursor.fetchall()}
        return LastGood(payloads, withdrawals)

    async def save_withdrawals(self, withdrawals: dict[str, int], now: float) -> None:
        """The withdrawals in force (the tombstones), replacing the stored set in one transaction:
        the first time whole, then only what changed since (a flood of withdrawals costs a row
        each, not a rewrite of every tombstone)."""
        saved = self._saved
        async with self.lock:
            if saved is None:
                await self.db.execute("DELETE FROM withdrawals")
                gone: list[tuple[str]] = []
                changed = list(withdrawals.items())
            else:
                gone = [(token,) for token in saved.keys() - withdrawals.keys()]
                changed = [(t, v) for t, v in withdrawals.items() if saved.get(t) != v]
            if gone:
                await self.db.executemany("DELETE FROM withdrawals WHERE token = ?", gone)
            if changed:
                await self.db.executemany(
                    "INSERT OR REPLACE INTO withdrawals (token, roster_version, at) VALUES (?, ?, ?)",
                    [(token, version, now) for token, version in changed],
                )
            await self.db.commit()
        self._saved = dict(withdrawals)

    async def add_withdrawal(self, token: str, roster_version: int, now: float) -> None:
        async with self.lock:
            await self.db.execute(
                "INSERT OR REPLACE INTO withdrawals (token, roster_version, at) VALUES (?, ?, ?)",
                (token, roster_version, now),
            )
            await self.db.commit()

    async def withdrawals_for(self, roster_version: int) -> set[str]:
        """Tokens withdrawn against this roster version or a newer one."""
        async with (
            self.lock,
            self.db.execute("SELECT token FROM withdrawals WHERE roster_version >= ?", (roster_version,)) as cursor,
        ):
            return {str(r[0]) for r in await cursor.fetchall()}


def read_last_good(state_dir: Path, *, timeout_s: float = 1.0) -> LastGood:
    """The stored last good state, read-only, for tools beside a running gateway (WAL: no lock
    held against it). Missing file or table: empty. Raises :class:`sqlite3.Error` otherwise."""
    path = state_dir / OUTBOX_FILE
    if not path.is_file():
        return LastGood()
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=timeout_s) as db:
        tables = {str(r[0]) for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        rows = (
            db.execute("SELECT topic, payload, received FROM downlink_state").fetchall()
            if "downlink_state" in tables
            else []
        )
        withdrawals = (
            {str(t): int(v) for t, v in db.execute("SELECT token, roster_version FROM withdrawals")}
            if "withdrawals" in tables
            else {}
        )
    payloads = {str(t): bytes(p) for t, p, _ in rows}
    return LastGood(payloads, withdrawals, {str(t): float(at) for t, _, at in rows})
