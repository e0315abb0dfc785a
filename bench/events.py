"""Event matching with many event workflows in one tenant (app/services/events.py).

    .venv/bin/python bench/events.py [--workflows 10000] [--matching 5] [--seconds 3] [--database-url URL]

Builds a fresh database (SQLite in a temporary directory unless --database-url names one),
inserts `--workflows` enabled event workflows that do not match "deal.updated" (their
patterns spread over 200 other entities, a third of them globs) plus `--matching` that do
(exact, glob and conditioned), then times `find_matches` — the candidate query on
ix_workflows_trigger_lookup with the active versions joined, fnmatch, conditions and
JSON Logic constraints; no Temporal. A second figure shows the worst case: every workflow
is a "deal.*" candidate whose conditions fail, so each must be evaluated.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from app.db.migrate import migrate
from app.db.session import make_engine, make_sessionmaker
from app.db.tables import Workflow, WorkflowVersion
from app.ids import new_id
from app.services.events import find_matches
from app.services.keys import ensure_tenant
from app.services.workflows import activate
from workflows.models import TriggerInfo

BLOCKS = [{"$kind": "Action", "id": "tell", "type": "webhook",
           "input": {"url": "https://example.com/hook", "body": {"deal": "{{deal.name}}"}}}]


def definition(name: str, event: str, conditions: list | None = None, constraints: dict | None = None) -> dict:
    return {"name": name, "trigger_type": "event", "trigger_configuration": {"event": event, "conditions": conditions or []},
            "trigger_constraints": constraints, "workflow_blocks": BLOCKS}


def non_matching(i: int) -> dict:
    entity = f"entity{i % 200}"
    event = f"{entity}.*" if i % 3 == 0 else f"{entity}.changed{i % 7}"
    return definition(f"other {i}", event, [{"field": "status", "operator": "equals", "value": "x"}])


def matching(i: int) -> dict:
    shapes = [definition(f"match {i}", "deal.updated"),
              definition(f"match {i}", "deal.*", [{"field": "status", "operator": "changed_to", "value": "won"}]),
              definition(f"match {i}", "deal.updated", constraints={">": [{"var": "deal.value"}, 1000]})]
    return shapes[i % len(shapes)]


def worst(i: int) -> dict:
    return definition(f"worst {i}", "deal.*", [{"field": "status", "operator": "equals", "value": "never"}],
                      {">": [{"var": "trigger.data.value"}, 1]})


async def fill(maker, tenant_id: str, definitions: list[dict]) -> None:
    async with maker() as session:
        for start in range(0, len(definitions), 1000):
            rows, versions = [], []
            for body in definitions[start:start + 1000]:
                row = Workflow(id=new_id("wf"), tenant_id=tenant_id, name=body["name"], trigger_type="event",
                               max_triggers_per_day=None)
                version = WorkflowVersion(tenant_id=tenant_id, workflow_id=row.id, version_number=1, definition=body,
                                          published_at=datetime.now(UTC))
                activate(row, version)
                rows.append(row)
                versions.append(version)
            session.add_all(rows)
            await session.flush()
            session.add_all(versions)
            await session.commit()


async def rate(maker, tenant_id: str, trigger: TriggerInfo, seconds: float) -> tuple[float, int, float]:
    """(matches per second, matched count, mean ms per call)."""
    async with maker() as session:
        found = await find_matches(session, tenant_id=tenant_id, trigger=trigger)  # warm up
        calls, began = 0, time.perf_counter()
        while time.perf_counter() - began < seconds:
            await find_matches(session, tenant_id=tenant_id, trigger=trigger)
            calls += 1
        elapsed = time.perf_counter() - began
    return calls / elapsed, len(found), 1000 * elapsed / calls


async def main(args: argparse.Namespace) -> None:
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'relay.db'}"
    await asyncio.to_thread(migrate, url)
    engine = make_engine(url)
    maker = make_sessionmaker(engine)
    async with maker() as session:
        busy = (await ensure_tenant(session, name=f"bench-{new_id('t')}")).id
        crowded = (await ensure_tenant(session, name=f"worst-{new_id('t')}")).id
    began = time.perf_counter()
    await fill(maker, busy, [non_matching(i) for i in range(args.workflows)] + [matching(i) for i in range(args.matching)])
    await fill(maker, crowded, [worst(i) for i in range(args.workflows)])
    print(f"inserted 2 x {args.workflows} workflows in {time.perf_counter() - began:.1f}s ({url.split(':')[0]})")
    if url.startswith("postgres"):  # the statistics autovacuum keeps in a live database, at once
        async with engine.connect() as connection:
            await connection.execute(text("ANALYZE workflows"))
            await connection.execute(text("ANALYZE workflow_versions"))
            await connection.commit()

    trigger = TriggerInfo(type="event", event="deal.updated", data={"status": "won", "value": 5000, "name": "Acme"},
                          previous={"status": "open"}, received_at=datetime.now(UTC))
    if url.startswith("sqlite"):
        async with engine.connect() as connection:
            plan = (await connection.execute(text(
                "EXPLAIN QUERY PLAN SELECT * FROM workflows JOIN workflow_versions ON workflow_versions.workflow_id ="
                " workflows.id AND workflow_versions.version_number = workflows.active_version WHERE"
                " workflows.tenant_id = :t AND trigger_type = 'event' AND trigger_key IN ('', 'deal.', 'deal.updated')"
                " AND enabled"), {"t": busy})).all()
        print("plan:", " | ".join(row[-1] for row in plan))
    per_second, matched, ms = await rate(maker, busy, trigger, args.seconds)
    print(f"typical: {args.workflows} non-matching + {args.matching} matching -> {matched} matched; "
          f"{per_second:,.0f} events matched/s ({ms:.2f} ms per event)")
    per_second, matched, ms = await rate(maker, crowded, trigger, args.seconds)
    print(f"worst:   {args.workflows} candidates all evaluated, {matched} matched; "
          f"{per_second:,.1f} events matched/s ({ms:.1f} ms per event)")
    await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workflows", type=int, default=10_000)
    parser.add_argument("--matching", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--database-url", default=None)
    from common import run_then_exit

    run_then_exit(main(parser.parse_args()))
