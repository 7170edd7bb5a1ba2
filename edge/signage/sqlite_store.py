"""What the screen's SQLite stores share: opening the file, creating tables, naming a failure.

``signage.sqlite`` (:mod:`edge.signage.state`) holds the caps and holdout groups
(:mod:`edge.signage.cap_store`), the redemption codes shown (:mod:`edge.signage.code_store`) and the
overrides' first receipts, each store on the one connection. The helpers here were written
twice before (the cap store's own file for its tests and the state's): :func:`open_sqlite` opens a
file in WAL mode (as the outbox, so a reader never waits on a writer), :func:`open_store` a store
over it with its tables created, :func:`create_tables` runs a schema, and :func:`failing_as` turns
an ``aiosqlite.Error`` into the store's :class:`EdgeError` that says what could not be done, and in
which file.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Protocol, TypeVar

import aiosqlite

from edge.errors import EdgeError
from edge.outbox import state_file_hint


class Store(Protocol):
    async def create(self) -> None:
        """Its tables, if they are not there yet."""
        ...


S = TypeVar("S", bound=Store)


class SignageStoreError(EdgeError):
    """A signage table cannot be read or written (the message names the file)."""


@contextmanager
def failing_as(error: type[EdgeError], what: str, where: str) -> Iterator[None]:
    """Inside: an ``aiosqlite.Error`` becomes ``error("cannot {what} in {where}: …")``."""
    try:
        yield
    except aiosqlite.Error as err:
        raise error(f"cannot {what} in {where}: {err}") from None


async def create_tables(db: aiosqlite.Connection, schema: str, what: str, where: str) -> None:
    """Run ``schema`` (``CREATE … IF NOT EXISTS``) and commit; ``what`` names the tables."""
    with failing_as(SignageStoreError, f"create {what}", where):
        await db.executescript(schema)
        await db.commit()


@asynccontextmanager
async def open_sqlite(path: Path) -> AsyncIterator[aiosqlite.Connection]:
    """A connection to ``path`` (its folder made if missing) in WAL mode, closed on leaving."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path)
    except (OSError, aiosqlite.Error) as err:
        raise SignageStoreError(f"cannot open {path}: {err}; {state_file_hint(err)}") from None
    try:
        try:
            await db.execute("PRAGMA journal_mode=WAL")  # the first read of the file: a damaged one fails here
        except aiosqlite.Error as err:
            raise SignageStoreError(f"cannot open {path}: {err}; {state_file_hint(err)}") from None
        yield db
    finally:
        await db.close()


@asynccontextmanager
async def open_store(path: Path, make: Callable[[aiosqlite.Connection, str], S]) -> AsyncIterator[S]:
    """``make(connection, path)`` over :func:`open_sqlite`'s connection, its tables created."""
    async with open_sqlite(path) as db:
        store = make(db, str(path))
        await store.create()
        yield store
