"""An asyncio face on the standard sqlite3 module that runs each call inline, without a thread hop.

SQLAlchemy's aiosqlite dialect talks to a driver-level connection with awaitable methods. aiosqlite
sends every call (cursor, execute, fetch, close, commit) to a worker thread; a turn of the bot is
some forty such calls, and the hops cost more than the SQL. SQLite calls on a local file in WAL mode
take microseconds, so the embedded default runs them inline on the event loop instead. Used through
`create_async_engine(..., async_creator=...)`; PostgreSQL is not affected.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any


class InlineCursor:
    """A sqlite3 cursor with awaitable methods that complete at once."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    @property
    def description(self) -> Any:
        """Return the column description of the last query."""
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        """Return the number of rows the last statement changed."""
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        """Return the rowid of the last inserted row."""
        return self._cursor.lastrowid

    async def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> InlineCursor:
        """Execute one statement."""
        self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, seq_of_parameters: Iterable[Any]) -> InlineCursor:
        """Execute one statement for each set of parameters."""
        self._cursor.executemany(sql, seq_of_parameters)
        return self

    async def fetchone(self) -> Any:
        """Return the next row."""
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        """Return the next rows."""
        return self._cursor.fetchmany(size) if size is not None else self._cursor.fetchmany()

    async def fetchall(self) -> list[Any]:
        """Return the remaining rows."""
        return self._cursor.fetchall()

    async def close(self) -> None:
        """Close the cursor."""
        self._cursor.close()


class InlineConnection:
    """A sqlite3 connection with the awaitable methods SQLAlchemy's aiosqlite adapter calls."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection

    @property
    def isolation_level(self) -> str | None:
        """Return the sqlite3 isolation level."""
        return self._conn.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._conn.isolation_level = value  # type: ignore[assignment]

    async def cursor(self) -> InlineCursor:
        """Return a new cursor."""
        return InlineCursor(self._conn.cursor())

    async def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> InlineCursor:
        """Execute one statement on a new cursor."""
        return InlineCursor(self._conn.execute(sql, parameters))

    async def commit(self) -> None:
        """Commit the transaction."""
        self._conn.commit()

    async def rollback(self) -> None:
        """Roll the transaction back."""
        self._conn.rollback()

    async def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        """Register a SQL function."""
        self._conn.create_function(*args, **kwargs)

    def stop(self) -> None:
        """Close at once (SQLAlchemy's terminate)."""
        self._conn.close()


def creator(path: str) -> Callable[[], Awaitable[InlineConnection]]:
    """Return the async creator for `create_async_engine` that opens `path` inline."""

    async def connect() -> InlineConnection:
        return InlineConnection(sqlite3.connect(path, check_same_thread=False))

    return connect
