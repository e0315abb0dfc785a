"""app/db/onehop.py: SQLite statements in one trip to aiosqlite's thread keep the DBAPI's answers
(rows, rowcount of a conditional UPDATE, executemany, errors, rollback)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app.db.onehop import OneHopConnection
from app.db.session import make_engine


async def test_one_hop_statements_answer_as_the_driver_does(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'one.db'}")
    try:
        async with engine.begin() as connection:
            raw = await connection.get_raw_connection()
            assert isinstance(raw.dbapi_connection, OneHopConnection)
            await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)"))
            await connection.execute(text("INSERT INTO t (id, n) VALUES (:id, :n)"),
                                     [{"id": 1, "n": 1}, {"id": 2, "n": 5}])  # executemany
            updated = await connection.execute(text("UPDATE t SET n = n + 1 WHERE n < :limit"), {"limit": 3})
            assert updated.rowcount == 1  # the breaker's and quotas' conditional statements read this
            inserted = await connection.execute(text("INSERT INTO t (n) VALUES (7)"))
            assert inserted.lastrowid == 3
            assert (await connection.execute(text("SELECT id, n FROM t ORDER BY id"))).all() == [(1, 2), (2, 5), (3, 7)]
        async with engine.connect() as connection:
            with pytest.raises(IntegrityError):
                await connection.execute(text("INSERT INTO t (id, n) VALUES (1, 0)"))
            await connection.rollback()
            await connection.execute(text("UPDATE t SET n = 0"))
            await connection.rollback()  # not committed: nothing changed
            assert (await connection.execute(text("SELECT sum(n) FROM t"))).scalar() == 14
    finally:
        await engine.dispose()


async def test_commit_and_rollback_make_no_trip_without_a_transaction(tmp_path, monkeypatch):
    """A connection handed back after a commit (or after reads only) is rolled back by SQLAlchemy's
    pool: with no transaction open that is no trip to aiosqlite's thread; with one open, it still
    rolls back, and a commit still commits."""
    import aiosqlite.core

    trips: list[str] = []
    execute = aiosqlite.core.Connection._execute

    async def counted(self, fn, *args, **kwargs):
        trips.append(getattr(fn, "__name__", "?"))
        return await execute(self, fn, *args, **kwargs)

    engine = make_engine(f"sqlite:///{tmp_path / 'idle.db'}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (n INTEGER NOT NULL)"))
        monkeypatch.setattr(aiosqlite.core.Connection, "_execute", counted)
        async with engine.connect() as connection:  # a read, then the pool's reset
            assert (await connection.execute(text("SELECT count(*) FROM t"))).scalar() == 0
        assert "rollback" not in trips and "commit" not in trips
        async with engine.connect() as connection:  # a write committed, then the pool's reset
            await connection.execute(text("INSERT INTO t (n) VALUES (1)"))
            await connection.commit()
        assert trips.count("commit") == 1 and "rollback" not in trips
        async with engine.connect() as connection:  # a write left open: the reset rolls it back
            await connection.execute(text("INSERT INTO t (n) VALUES (2)"))
            raw = await connection.get_raw_connection()
            assert raw.dbapi_connection._connection._conn.in_transaction
        assert trips.count("rollback") == 1
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT sum(n) FROM t"))).scalar() == 1
    finally:
        await engine.dispose()
