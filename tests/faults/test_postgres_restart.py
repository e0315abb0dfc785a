"""Drill 9: Relay's PostgreSQL restarted (fast, then immediate) while 100 triggers arrive.

The machine's PostgreSQL is shared, so the drill restarts a private cluster (tests/faults/private.py):
`pg_ctl restart -m fast` is what `pg_ctlcluster <version> main restart` runs on a Debian cluster, and
`-m immediate` is a crash followed by recovery.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import httpx
import pytest

from app.services.runs import instance_id_for
from tests.faults.harness import Drill, trigger_body
from tests.faults.private import PrivatePostgres, postgres_bin

TRIGGERS = 100
CONCURRENCY = 10
RESTARTS = {25: "fast", 60: "immediate"}  # after this many 201s, restart the cluster in this mode

pytestmark = pytest.mark.skipif(postgres_bin() is None, reason="PostgreSQL's server binaries (initdb, pg_ctl) "
                                "are not installed: the drill needs a cluster of its own to restart")


async def test_postgres_restart_under_triggers_answers_201_or_503_and_one_run_per_201(drill: Drill, tmp_path):
    with PrivatePostgres(tmp_path) as pg:
        drill.env["RELAY_DATABASE_URL"] = pg.url
        await drill.start_all(workers=1)
        workflow_id = await drill.create_workflow(
            [{"$kind": "Block", "type": "delay", "id": "nap", "inputs": {"duration": "0s"}}], max_triggers_per_day=None)
        answers: Counter[str] = Counter()
        bodies_500: list[str] = []
        instances: dict[int, str] = {}
        gate = asyncio.Semaphore(CONCURRENCY)
        reached = {n: asyncio.Event() for n in RESTARTS}

        async def trigger(http: httpx.AsyncClient, n: int) -> None:
            async with gate:
                for _ in range(200):  # a client retrying with its key until it has its run
                    response = await http.post(f"/v1/workflows/{workflow_id}/trigger", content=trigger_body({"n": n}),
                                               headers={"Idempotency-Key": f"pg-{n}",
                                                        "Content-Type": "application/json"})
                    code = response.json().get("error", {}).get("code", "") if response.status_code >= 400 else ""
                    answers[f"{response.status_code} {code}".strip()] += 1
                    if response.status_code == 500:
                        bodies_500.append(response.text)
                    if response.status_code == 201:
                        instances[n] = response.json()["data"]["id"]
                        for at, event in reached.items():
                            if len(instances) >= at:
                                event.set()
                        return
                    await asyncio.sleep(float(response.headers.get("retry-after", "0.2")) / 4)

        async def restarts() -> dict[str, float]:
            took = {}
            for at, mode in RESTARTS.items():
                await reached[at].wait()
                began = time.monotonic()
                await asyncio.to_thread(pg.restart, mode)
                took[mode] = round(time.monotonic() - began, 1)
            return took

        began = time.monotonic()
        async with drill.http(timeout=60) as http:
            restarting = asyncio.create_task(restarts())
            await asyncio.gather(*(trigger(http, n) for n in range(TRIGGERS)))
            took = await restarting
            elapsed = time.monotonic() - began
            after = await http.post(f"/v1/workflows/{workflow_id}/trigger", content=trigger_body({"n": "after"}),
                                    headers={"Content-Type": "application/json"})
        completed = await drill.wait_for_count(workflow_id, "Completed", TRIGGERS + 1, timeout=60)
        total = await drill.count_runs(workflow_id)
        left = pg.psql("SELECT count(*) FROM idempotency_keys WHERE state != 'done'")

    summary = (f"postgres restart: {TRIGGERS} triggers in {elapsed:.1f}s, {CONCURRENCY} at a time, restarts "
               f"(mode: seconds)={took}; answers={dict(answers)}; 201s={len(instances)} distinct instances="
               f"{len(set(instances.values()))}; a trigger after it all answered {after.status_code}; runs={total} "
               f"completed={completed}; idempotency rows not done={left}")
    print(summary)
    assert not bodies_500, f"{summary}\n{bodies_500[:3]}"
    assert set(answers) <= {"201", "503 database_unavailable", "503 temporal_unavailable"}, summary
    assert answers["201"] == TRIGGERS and len(set(instances.values())) == TRIGGERS, summary
    assert all(instances[n] == instance_id_for(f"{drill.tenant_id}:pg-{n}") for n in range(TRIGGERS)), summary
    assert after.status_code == 201, summary  # the API recovered without a restart
    assert total == completed == TRIGGERS + 1, summary  # exactly one run per 201, and all complete
    assert left == "0", summary
