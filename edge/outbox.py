"""The durable outbox: every event is committed to SQLite before anything downstream sees it.

aiosqlite over one SQLite file in WAL mode with ``synchronous=FULL`` (a power cut on an edge box
must not lose a committed event). Rows are appended in batches, one transaction each; a consent
withdrawal deletes every row about a token.

The MQTT drain (:mod:`edge.sync.drain`) claims unsent rows in order, giving each its CloudEvents
``sequence`` when first claimed (persisted with the counter in one transaction, so the numbers
have no gaps and never change), and marks rows sent only after their PUBACK. The outbox is
bounded in rows and bytes: past the bound, already-sent rows go first, then unsent rows by the
drop policy of :mod:`edge.outbox_policy`; every dropped unsent row is counted in ``dropped``.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable, Coroutine, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, Self, TypeVar

import aiosqlite

from edge import constants as c
from edge.errors import OutboxError
from edge.events import Event
from edge.outbox_policy import drop_rank, pick_victims, with_sequence

log = logging.getLogger(__name__)

OUTBOX_FILE = "outbox.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    id       TEXT NOT NULL UNIQUE,
    type     TEXT NOT NULL,
    token    TEXT,
    time     REAL NOT NULL,
    body     BLOB NOT NULL,
    sent     INTEGER NOT NULL DEFAULT 0,
    sequence INTEGER,
    rank     INTEGER NOT NULL DEFAULT 3,
    size     INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

_INDEXES = """
CREATE INDEX IF NOT EXISTS outbox_token ON outbox(token) WHERE token IS NOT NULL;
CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox(seq) WHERE sent = 0;
CREATE INDEX IF NOT EXISTS outbox_drop ON outbox(sent DESC, rank, seq) WHERE sent = 1 OR sequence IS NULL;
"""

_ADDED_COLUMNS = {"sequence": "INTEGER", "rank": "INTEGER NOT NULL DEFAULT 3", "size": "INTEGER NOT NULL DEFAULT 0"}
"""Columns added since the first outbox schema, added in place to an older file."""


_P = ParamSpec("_P")
_T = TypeVar("_T")


def _locked(
    method: Callable[Concatenate[Outbox, _P], Coroutine[Any, Any, _T]],
) -> Callable[Concatenate[Outbox, _P], Coroutine[Any, Any, _T]]:
    """Run an outbox method under the outbox's lock (see :attr:`Outbox.lock`)."""

    async def wrapper(self: Outbox, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        async with self.lock:
            return await method(self, *args, **kwargs)

    wrapper.__doc__ = method.__doc__
    wrapper.__name__ = method.__name__
    return wrapper


def state_file_hint(err: Exception) -> str:
    """What an operator does about a state file (``state_dir``'s SQLite files) that does not open.

    A damaged file -- one SQLite reads as no database, or a malformed one (a failing SD card) -- is not
    moved aside by the gateway: it may hold unsent events, and rows of shoppers a later withdrawal could no
    longer purge. The operator keeps it for inspection and deletes it; the gateway starts with an empty one.
    Anything else is the folder's permissions or space."""
    if isinstance(err, aiosqlite.DatabaseError) and not isinstance(err, aiosqlite.OperationalError):
        return (
            "the file is damaged: stop the gateway, move the file out of state_dir and start again (it may hold "
            "unsent events to inspect; delete it then: it holds shopper tokens that a withdrawal no longer reaches)"
        )
    return "check that state_dir is writable and has free space"


@dataclass(frozen=True, slots=True)
class Row:
    """An unsent row claimed by the drain; ``body`` already carries its ``sequence``."""

    seq: int
    type: str
    token: str | None
    sequence: int
    body: bytes


class Outbox:
    """Async context manager over the outbox file in ``state_dir``."""

    def __init__(
        self,
        state_dir: Path,
        source: str,
        *,
        max_rows: int = c.OUTBOX_MAX_ROWS,
        max_bytes: int = c.OUTBOX_MAX_BYTES,
        keep_sent_rows: int = c.OUTBOX_KEEP_SENT_ROWS,
    ) -> None:
        if max_rows < 1 or max_bytes < 1:
            raise OutboxError("the outbox bounds must be >= 1")
        self.path = state_dir / OUTBOX_FILE
        self._source = source
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self.keep_sent_rows = keep_sent_rows
        self.dropped = 0
        """Unsent events dropped by the bound since start (reported in ``edge.gateway.health``)."""
        self.purges = 0
        self.withdrawn: Callable[[str], bool] | None = None
        """Whether a token is withdrawn now (its events are not written): asked by :meth:`append` under the
        lock, so an event handed over before a withdrawal's purge and committed after it (a peers' gain in
        flight, an impression) is dropped, not written after the purge. The pipeline sets it to its core's
        (edge.pipeline.Pipeline.withdrawn); None: every event is written."""
        self.withdrawn_dropped = 0
        """Events dropped by :attr:`withdrawn` since start (reported in ``edge.gateway.health``)."""
        self._recent_purged: collections.deque[str] = collections.deque(maxlen=256)
        self._rows = self._bytes = self._sent = 0
        self._db: aiosqlite.Connection | None = None
        self._stack = AsyncExitStack()
        self.lock = asyncio.Lock()
        """Held for every multi-statement use of the connection (the drain, the pipeline and the
        downlinks share it): a commit must not land while another task's cursor is mid-statement."""

    async def __aenter__(self) -> Self:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = await self._stack.enter_async_context(aiosqlite.connect(self.path))
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("PRAGMA synchronous=FULL")
            await db.executescript(_SCHEMA)
            async with db.execute("PRAGMA table_info(outbox)") as cursor:
                have = {row[1] for row in await cursor.fetchall()}
            for name, decl in _ADDED_COLUMNS.items():
                if name not in have:
                    await db.execute(f"ALTER TABLE outbox ADD COLUMN {name} {decl}")
            await db.executescript(_INDEXES)
            await db.commit()
            self._db = db
            await self._recount()
        except (OSError, aiosqlite.Error) as err:
            self._db = None
            await self._stack.aclose()
            raise OutboxError(f"cannot open the outbox {self.path}: {err}; {state_file_hint(err)}") from None
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._db = None
        await self._stack.aclose()

    @property
    def is_open(self) -> bool:
        return self._db is not None

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise OutboxError("the outbox is closed")
        return self._db

    async def _recount(self) -> None:
        async with self.db.execute("SELECT count(*), total(size), total(sent) FROM outbox") as cursor:
            row = await cursor.fetchone()
        assert row is not None
        self._rows, self._bytes, self._sent = int(row[0]), int(row[1]), int(row[2])

    @_locked
    async def append(self, events: Sequence[Event]) -> None:
        """Commit ``events`` in one transaction (dropping by the policy past the bound); those about a
        token :attr:`withdrawn` by now are dropped and counted (:attr:`withdrawn_dropped`), never logged."""
        withdrawn = self.withdrawn
        if withdrawn is not None:
            kept = [e for e in events if e.token is None or not withdrawn(e.token)]
            if len(kept) != len(events):
                self.withdrawn_dropped += len(events) - len(kept)
                events = kept
        if not events:
            return
        rows = []
        size = 0
        for e in events:
            body = e.to_json(self._source)
            size += len(body)
            rows.append((e.id, e.type, e.token, e.time, body, drop_rank(e.type), len(body)))
        try:
            cursor = await self.db.executemany(
                "INSERT OR IGNORE INTO outbox (id, type, token, time, body, rank, size) VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            if cursor.rowcount == len(rows):
                self._rows += len(rows)
                self._bytes += size
            else:  # a retry of ids already there
                await self._recount()
            if self._rows > self.max_rows or self._bytes > self.max_bytes:
                await self._enforce_bound()
            await self.db.commit()
        except aiosqlite.Error as err:
            raise OutboxError(f"cannot write the outbox {self.path}: {err}") from None

    async def _enforce_bound(self) -> None:
        excess_rows = self._rows - self.max_rows
        excess_bytes = self._bytes - self.max_bytes
        query = (
            "SELECT seq, size FROM outbox WHERE sent = 1 OR sequence IS NULL "
            "ORDER BY sent DESC, rank, seq LIMIT ? OFFSET ?"
        )
        victims: list[int] = []
        offset, page = 0, max(256, excess_rows)
        while True:
            async with self.db.execute(query, (page, offset)) as cursor:
                batch = [(int(r[0]), int(r[1])) for r in await cursor.fetchall()]
            chosen = pick_victims(batch, excess_rows, excess_bytes)
            victims.extend(chosen)
            excess_rows -= len(chosen)
            excess_bytes -= sum(size for _, size in batch[: len(chosen)])
            if len(batch) < page or (excess_rows <= 0 and excess_bytes <= 0):
                break
            offset += page
        if not victims:
            log.warning("the outbox is over its bound and every row is in flight")
            return
        sent_before = self._sent
        await self._delete(victims)
        self.dropped += len(victims) - (sent_before - self._sent)

    async def _delete(self, seqs: Sequence[int]) -> None:
        for start in range(0, len(seqs), 500):
            chunk = seqs[start : start + 500]
            marks = ",".join("?" * len(chunk))
            async with self.db.execute(
                f"DELETE FROM outbox WHERE seq IN ({marks}) RETURNING sent, size",  # noqa: S608 - only '?' marks
                chunk,
            ) as cursor:
                for sent, size in await cursor.fetchall():
                    self._rows -= 1
                    self._bytes -= int(size)
                    self._sent -= int(sent)

    @_locked
    async def claim(self, after: int, limit: int) -> list[Row]:
        """Up to ``limit`` unsent rows after row ``after``, in order, each with its ``sequence``
        (new ones numbered and committed here). Rows of a token purged meanwhile are left out."""
        purges = self.purges
        async with self.db.execute(
            "SELECT seq, type, token, sequence, body FROM outbox WHERE sent = 0 AND seq > ? ORDER BY seq LIMIT ?",
            (after, limit),
        ) as cursor:
            found = await cursor.fetchall()
        if not found:
            return []
        fresh = [int(r[0]) for r in found if r[3] is None]
        first = 0
        if fresh:
            # Numbered in row order from the counter: one UPDATE per run of consecutive rows
            # (nearly always one run per claim), not one per row.
            first = await self._meta("next_sequence", 1)
            offsets: list[tuple[int, int, int]] = []
            done = 0
            for low, high in runs(fresh):
                offsets.append((first + done - low, low, high))
                done += high - low + 1
            cursor = await self.db.executemany(
                "UPDATE outbox SET sequence = seq + ? WHERE seq BETWEEN ? AND ? AND sequence IS NULL", offsets
            )
            if cursor.rowcount != len(fresh):
                raise OutboxError(
                    f"numbered {cursor.rowcount} rows instead of {len(fresh)}: is another process writing?"
                )
            await self._set_meta("next_sequence", first + len(fresh))
            await self.db.commit()
        out = []
        number = first
        for seq, type_, token, sequence, body in found:
            if sequence is None:
                out.append(Row(seq, type_, token, number, with_sequence(body, number)))
                number += 1
            else:
                out.append(Row(seq, type_, token, sequence, with_sequence(body, sequence)))
        if self.purges != purges:
            gone = self.purged_since(purges)
            out = [r for r in out if r.token not in gone]
        return out

    @_locked
    async def mark_sent(self, seqs: Sequence[int]) -> None:
        """Rows whose PUBACK arrived; beyond ``keep_sent_rows`` the oldest sent rows are deleted."""
        if not seqs:
            return
        cursor = await self.db.executemany(
            "UPDATE outbox SET sent = 1 WHERE seq BETWEEN ? AND ? AND sent = 0", runs(sorted(set(seqs)))
        )
        self._sent += max(cursor.rowcount, 0)
        if self._sent > self.keep_sent_rows + self.keep_sent_rows // 4:  # prune in bulk, not per batch
            async with self.db.execute(
                "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE sent = 1 ORDER BY seq LIMIT ?) "
                "RETURNING size",
                (self._sent - self.keep_sent_rows,),
            ) as cur:
                sizes = [int(r[0]) for r in await cur.fetchall()]
            self._rows -= len(sizes)
            self._sent -= len(sizes)
            self._bytes -= sum(sizes)
        await self.db.commit()

    @_locked
    async def next_session(self) -> int:
        """The next MQTT session number (Sparkplug's bdSeq), persisted before it is used."""
        value = await self._meta("session", 0) + 1
        await self._set_meta("session", value)
        await self.db.commit()
        return value

    async def _meta(self, key: str, default: int) -> int:
        async with self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else default

    async def _set_meta(self, key: str, value: int) -> None:
        await self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    @_locked
    async def purge_token(self, token: str) -> int:
        """Delete every row about ``token``; the number of rows deleted."""
        self.purges += 1
        self._recent_purged.append(token)
        async with self.db.execute("DELETE FROM outbox WHERE token = ? RETURNING sent, size", (token,)) as cursor:
            deleted = list(await cursor.fetchall())
        await self.db.commit()
        for sent, size in deleted:
            self._rows -= 1
            self._bytes -= int(size)
            self._sent -= int(sent)
        return len(deleted)

    def purged_since(self, purges: int) -> set[str]:
        """Tokens purged since ``purges`` was read from :attr:`purges` (the recent ones)."""
        count = self.purges - purges
        return set(list(self._recent_purged)[-count:]) if count > 0 else set()

    async def depth(self) -> int:
        """Rows not yet sent."""
        return self._rows - self._sent

    @property
    def rows(self) -> int:
        return self._rows

    @property
    def sent_rows(self) -> int:
        return self._sent

    @property
    def bytes(self) -> int:
        return self._bytes

    @_locked
    async def tokens(self) -> set[str]:
        """Every token some row is about (the start's check against the roster in force)."""
        async with self.db.execute("SELECT DISTINCT token FROM outbox WHERE token IS NOT NULL") as cursor:
            return {str(r[0]) for r in await cursor.fetchall()}

    @_locked
    async def unsent_of(self, token: str) -> int:
        """Rows about ``token`` not yet acknowledged by the broker (edge.peers: a gateway letting a
        shopper go clears its claim only once its own words about the shopper are out)."""
        async with self.db.execute("SELECT count(*) FROM outbox WHERE token = ? AND sent = 0", (token,)) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    @_locked
    async def count_token(self, token: str) -> int:
        async with self.db.execute("SELECT count(*) FROM outbox WHERE token = ?", (token,)) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0


def runs(ascending: Sequence[int]) -> list[tuple[int, int]]:
    """The runs of consecutive integers in ``ascending`` as (first, last) pairs: [1, 2, 3, 7, 8] →
    [(1, 3), (7, 8)]. Rows are numbered and marked a run per statement: ``seq`` is the primary
    key, so a run of consecutive values holds exactly those rows."""
    found: list[tuple[int, int]] = []
    for value in ascending:
        if found and value == found[-1][1] + 1:
            found[-1] = (found[-1][0], value)
        else:
            found.append((value, value))
    return found
