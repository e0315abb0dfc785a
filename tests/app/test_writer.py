"""app/db/writer.py one_writer: this process's SQLite writers queue on one lock, and each takes its
connection before the lock, so that a writer holding the lock never waits for a connection that a
request waiting for the lock holds (the pool's timeout, 30 s in production, 2 s here)."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.db.session import make_sessionmaker
from app.db.writer import one_writer


async def test_a_writer_takes_its_connection_before_the_lock(tmp_path):
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}", pool_size=1, max_overflow=0,
                                 pool_timeout=2)
    sessions = make_sessionmaker(engine)
    order: list[str] = []
    try:
        async with sessions() as reader, sessions() as writer:
            await reader.exec(text("SELECT 1"))  # holds the pool's one connection, as a request that read first

            async def write() -> None:  # a request that writes before it reads (a cached trigger)
                async with one_writer(writer):
                    await writer.exec(text("SELECT 1"))
                    order.append("writer")
                await writer.commit()

            started = asyncio.create_task(write())
            await asyncio.sleep(0.2)  # the writer is waiting: for the connection, not with the lock
            async with one_writer(reader):
                order.append("reader")
                await reader.commit()  # gives the connection back to the pool
            await asyncio.wait_for(started, timeout=10)
    finally:
        await engine.dispose()
    assert order == ["reader", "writer"]
