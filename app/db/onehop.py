"""SQLite statements in one trip to aiosqlite's thread instead of four.

SQLAlchemy's aiosqlite adapter makes a statement four trips to the connection's thread (open a
cursor, execute, fetch the rows, close the cursor), each a queue put, a thread wake-up and a
wake-up of the event loop. Here the cursor is opened, executed, read and closed in one function
run on that thread: the same sqlite3 calls in the same order on the same connection, so the
transactions, their isolation and what a commit makes durable are unchanged (docs/decisions.md,
"Latency and the trigger path"). A commit or rollback with no transaction open makes no trip at
all. Installed per connection by app/db/session.py.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_connection, AsyncAdapt_aiosqlite_cursor

_Outcome = tuple[Any, int, int | None, list[Any]]


def _run(connection: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> _Outcome:
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor whose execute (and executemany) is one call on aiosqlite's thread."""

    __slots__ = ("_outcome",)

    def __init__(self, adapt_connection: Any) -> None:  # no cursor opened here: _run opens its own
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._soft_closed_memoized: Any = {}
        self._rows = collections.deque()
        self._outcome: _Outcome = (None, -1, None, [])

    @property
    def description(self) -> Any:
        return self._outcome[0]

    @property
    def rowcount(self) -> int:
        return self._outcome[1]

    @property
    def lastrowid(self) -> Any:
        return self._outcome[2]

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        return await self._run(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        return await self._run(operation, seq_of_parameters, many=True)

    async def _run(self, operation: Any, parameters: Any, *, many: bool) -> None:
        async with self._adapt_connection._execute_mutex:
            self._outcome = await self._connection._execute(_run, self._connection._conn, operation, parameters, many)
        self._rows = collections.deque(self._outcome[3])

    async def _async_soft_close(self) -> None:  # nothing is open on the thread between calls
        return None

    def close(self) -> None:
        self._rows.clear()

    def fetchall(self) -> Sequence[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    """Commit and rollback skip the trip when SQLite has no transaction open, as sqlite3's own
    commit() and rollback() do nothing then: SQLAlchemy rolls back every connection handed back
    to the pool after a commit, and after a read, one trip per request for nothing.

    The flag is read here, not on aiosqlite's thread, so a rollback is no longer queued behind a
    statement still running there. That happens only when a request is cancelled mid-statement,
    and then SQLAlchemy (2.x) does not roll the connection back: it invalidates it, and its close
    is queued behind the statement (SQLite rolls back what is open when a connection closes)."""

    __slots__ = ()
    _cursor_cls = OneHopCursor

    def _idle(self) -> bool:
        try:
            return not self._connection._conn.in_transaction  # a flag read, safe from this thread
        except ValueError:  # aiosqlite has no connection (closed): let the adapter decide as before
            return False

    def rollback(self) -> None:
        if not self._idle():
            super().rollback()

    def commit(self) -> None:
        if not self._idle():
            super().commit()


def install(dbapi_connection: Any) -> None:
    """Make this connection's cursors one-hop (called from the engine's connect event)."""
    if type(dbapi_connection) is AsyncAdapt_aiosqlite_connection:
        dbapi_connection.__class__ = OneHopConnection
