"""The durable outbox: every event is committed to SQLite before anything downstream sees it.

aiosqlite over one SQLite file in WAL mode with ``synchronous=FULL`` (a power cut on an edge box
must not lose a committed event). Rows are appended in batches, one transaction each; a consent
withdrawal deletes every row about a token.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from types import TracebackType
from typing import Self

import aiosqlite

from edge.errors import OutboxError
from edge.events import Event

OUTBOX_FILE = "outbox.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq   INTEGER PRIMARY KEY AUTOINCREMENT,
    id    TEXT NOT NULL UNIQUE,
    type  TEXT NOT NULL,
    token TEXT,
    time  REAL NOT NULL,
    body  BLOB NOT NULL,
    sent  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_token ON outbox(token) WHERE token IS NOT NULL;
CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox(seq) WHERE sent = 0;
"""


class Outbox:
    """Async context manager over the outbox file in ``state_dir``."""

    def __init__(self, state_dir: Path, source: str) -> None:
        self.path = state_dir / OUTBOX_FILE
        self._source = source
        self._db: aiosqlite.Connection | None = None
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> Self:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = await self._stack.enter_async_context(aiosqlite.connect(self.path))
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("PRAGMA synchronous=FULL")
            await db.executescript(_SCHEMA)
            await db.commit()
        except (OSError, aiosqlite.Error) as err:
            await self._stack.aclose()
            raise OutboxError(f"cannot open the outbox {self.path}: {err}; check that state_dir is writable") from None
        self._db = db
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._db = None
        await self._stack.aclose()

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise OutboxError("the outbox is closed")
        return self._db

    async def append(self, events: Sequence[Event]) -> None:
        """Commit ``events`` in one transaction."""
        if not events:
            return
        rows = [(e.id, e.type, e.token, e.time, e.to_json(self._source)) for e in events]
        try:
            await self.db.executemany(
                "INSERT OR IGNORE INTO outbox (id, type, token, time, body) VALUES (?, ?, ?, ?, ?)", rows
            )
            await self.db.commit()
        except aiosqlite.Error as err:
            raise OutboxError(f"cannot write the outbox {self.path}: {err}") from None

    async def purge_token(self, token: str) -> int:
        """Delete every row about ``token``; the number of rows deleted."""
        cursor = await self.db.execute("DELETE FROM outbox WHERE token = ?", (token,))
        await self.db.commit()
        return cursor.rowcount

    async def depth(self) -> int:
        """Rows not yet sent."""
        async with self.db.execute("SELECT count(*) FROM outbox WHERE sent = 0") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def count_token(self, token: str) -> int:
        async with self.db.execute("SELECT count(*) FROM outbox WHERE token = ?", (token,)) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0
