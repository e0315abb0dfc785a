"""One request's database work on SQLite (3 SELECTs, a conditional upsert, COMMIT) through
app/db/onehop.py's one-trip cursors vs. SQLAlchemy's aiosqlite adapter, alternating, in one process.

    .venv/bin/python bench/sqlite_hops.py [--requests 300] [--blocks 6]

Prints CPU (all threads of the process) and wall time per request; figures in docs/performance.md §8.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from sqlalchemy import text

from app.db import onehop
from app.db import session as db

UPSERT = text("INSERT INTO c (k, n) VALUES ('a', 1) ON CONFLICT (k) DO UPDATE SET n = c.n + 1 WHERE c.n < 1000000000")
READ = text("SELECT id, n, name FROM t WHERE id = :id")


async def block(maker: Any, count: int) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(count):
        async with maker() as session:
            for row_id in (1, 2, 3):
                (await (await session.connection()).execute(READ, {"id": row_id})).first()
            await (await session.connection()).execute(UPSERT)
            await session.commit()
    return (time.process_time() - cpu) / count * 1000, (time.perf_counter() - wall) / count * 1000


async def main(requests: int, blocks: int) -> None:
    path = Path(tempfile.mkdtemp()) / "hops.db"
    one = db.make_engine(f"sqlite:///{path}")
    async with one.begin() as connection:  # its connection is made (one-hop) before the switch below
        raw = await connection.get_raw_connection()
        assert isinstance(raw.dbapi_connection, onehop.OneHopConnection)
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, name TEXT)"))
        await connection.execute(text("CREATE TABLE c (k TEXT PRIMARY KEY, n INTEGER)"))
        await connection.execute(text("INSERT INTO t VALUES (1, 1, 'x'), (2, 2, 'y'), (3, 3, 'z')"))
    onehop.install = lambda _connection: None  # the second engine's connections stay SQLAlchemy's own
    four = db.make_engine(f"sqlite:///{path}")
    makers = {"onehop": db.make_sessionmaker(one), "aiosqlite": db.make_sessionmaker(four)}
    for maker in makers.values():
        await block(maker, 50)  # warm-up
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in makers}
    for round_ in range(blocks):
        for name in makers if round_ % 2 == 0 else reversed(list(makers)):
            results[name].append(await block(makers[name], requests))
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}; {blocks} blocks of {requests} requests")
    for name, values in results.items():
        print(f"  {name:10} CPU {statistics.median(v[0] for v in values):.2f} ms/request, "
              f"wall {statistics.median(v[1] for v in values):.2f} ms/request (medians of blocks)")
    await one.dispose()
    await four.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--blocks", type=int, default=6)
    arguments = parser.parse_args()
    from common import run_then_exit

    run_then_exit(main(arguments.requests, arguments.blocks))
