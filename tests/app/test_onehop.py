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
