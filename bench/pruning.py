"""Rows and database size after N runs of traffic, before and after the maintenance prune.

    .venv/bin/python bench/pruning.py [--runs 10000] [--days 30] [--database-url postgresql://…/db]

Synthetic traffic (tests/helpers/synthetic.py): N triggers spread over the last D days, each
leaving an idempotency record with a ~600-byte answer and a day count; one alert a day. Then
`app.services.maintenance.prune` (what the hourly schedule runs), then, for SQLite, VACUUM.
Without --database-url: a fresh SQLite file in a temp dir. Figures: docs/operations.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

from app.db.migrate import migrate
from app.db.repo.maintenance import row_counts
from app.db.session import make_engine, make_sessionmaker
from app.services.maintenance import prune
from tests.helpers.synthetic import traffic


def file_size(url: str) -> str:
    path = url.split("///", 1)[1]
    wal = Path(path + "-wal")
    return f"file {os.path.getsize(path) / 1e6:.2f} MB (+ WAL {wal.stat().st_size / 1e6 if wal.exists() else 0:.2f} MB)"


async def size(engine, url: str) -> str:
    if url.startswith("sqlite"):
        return await asyncio.to_thread(file_size, url)
    async with engine.connect() as connection:
        total = (await connection.execute(text("SELECT pg_database_size(current_database())"))).scalar_one()
        tables = (await connection.execute(text(
            "SELECT sum(pg_total_relation_size(c)) FROM unnest(ARRAY['idempotency_keys','trigger_counters',"
            "'tenant_run_counters','alerts']::regclass[]) c"))).scalar_one()
    return f"database {total / 1e6:.2f} MB, the four tables {float(tables) / 1e6:.2f} MB"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='relay-prune-')}/relay.db"
    await asyncio.to_thread(migrate, url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    began = time.monotonic()
    await traffic(sessions, tenant_id="ten_bench", runs=args.runs, days=args.days)
    filled = time.monotonic() - began
    async with sessions() as session:
        before = await row_counts(session)
    size_before = await size(engine, url)
    began = time.monotonic()
    deleted = await prune(sessions)
    took = time.monotonic() - began
    async with sessions() as session:
        after = await row_counts(session)
    size_after = await size(engine, url)
    vacuumed = ""
    if url.startswith("sqlite"):
        async with engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("VACUUM"))
            await connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        vacuumed = f"; after VACUUM: {await size(engine, url)}"
    await engine.dispose()
    print(f"{args.runs} runs over {args.days} days on {url.split(':', 1)[0]} (filled in {filled:.1f}s)")
    print(f"rows before: {before}; {size_before}")
    print(f"prune deleted {deleted} in {took * 1000:.0f} ms")
    print(f"rows after:  {after}; {size_after}{vacuumed}")


if __name__ == "__main__":
    from common import run_then_exit

    run_then_exit(main())
