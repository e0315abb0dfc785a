"""Drill 5: the API restarts while 200 runs are being triggered; clients retry with their keys; exactly 200 runs."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter

import httpx

from app.services.runs import instance_id_for
from tests.faults.harness import Drill

RUNS = 200
CONCURRENCY = 20
RESTART_AFTER = 80  # answered triggers before the API is stopped


async def test_api_restart_mid_burst_exactly_one_run_per_key_and_all_complete(drill: Drill):
    await drill.start_all(workers=1)
    workflow_id = await drill.create_workflow(
        [{"$kind": "Block", "type": "delay", "id": "nap", "inputs": {"duration": "3s"}}],
        max_triggers_per_day=None)
    answers: dict[int, str] = {}
    seen = Counter()
    gate = asyncio.Semaphore(CONCURRENCY)
    halfway = asyncio.Event()

    async def trigger(http: httpx.AsyncClient, n: int) -> None:
        async with gate:
            while True:  # a client that retries with the same Idempotency-Key until it has an answer
                try:
                    response = await http.post(f"/v1/workflows/{workflow_id}/trigger", json={"data": {"n": n}},
                                               headers={"Idempotency-Key": f"burst-{n}"})
                except httpx.TransportError:
                    seen["connection error"] += 1
                    await asyncio.sleep(0.2)
                    continue
                if response.status_code == 201:
                    seen["replayed" if response.headers.get("idempotent-replayed") else "201"] += 1
                    answers[n] = response.json()["data"]["id"]
                    if len(answers) >= RESTART_AFTER:
                        halfway.set()
                    return
                seen[str(response.status_code)] += 1  # 503 while Temporal is unreachable, 409 while in progress
                assert response.status_code in (409, 429, 503), response.text
                await asyncio.sleep(float(response.headers.get("retry-after", "0.2")))

    async def restart_api() -> float:
        await halfway.wait()
        stopped = time.monotonic()
        await asyncio.to_thread(drill.stop, drill.api)  # SIGTERM: uvicorn finishes what it has and exits
        await drill.start_api()
        return time.monotonic() - stopped

    began = time.monotonic()
    async with drill.http() as http:
        restart = asyncio.create_task(restart_api())
        await asyncio.gather(*(trigger(http, n) for n in range(RUNS)))
        outage = await restart
    triggered_in = time.monotonic() - began
    answered_during_restart = len(answers)

    completed = await drill.wait_for_count(workflow_id, "Completed", RUNS, timeout=90)
    total = await drill.count_runs(workflow_id)
    with sqlite3.connect(drill.tmp / "relay.db") as db:
        unfinished = db.execute("SELECT count(*) FROM idempotency_keys WHERE idempotency_key LIKE 'burst-%' "
                                "AND state != 'done'").fetchone()[0]
    summary = (f"api restart under load: {answered_during_restart} triggers answered in {triggered_in:.1f}s "
               f"(API away {outage:.1f}s after {RESTART_AFTER} answers); client outcomes={dict(seen)}; "
               f"distinct instance ids={len(set(answers.values()))}; idempotency records left unfinished={unfinished}; visibility runs={total} completed={completed}")
    print(summary)
    assert len(answers) == RUNS and len(set(answers.values())) == RUNS, summary
    assert all(answers[n] == instance_id_for(f"{drill.tenant_id}:burst-{n}") for n in range(RUNS)), summary
    assert unfinished == 0, summary  # a graceful stop finishes what it started
    assert seen["connection error"] > 0, f"the restart did not overlap the burst: {summary}"
    assert total == RUNS, summary  # no run lost, none started twice
    assert completed == RUNS, summary
