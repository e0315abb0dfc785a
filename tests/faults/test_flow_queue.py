"""Drill: starts queued behind a concurrency limit (SPEC §2.7) while the worker is SIGKILLed and the
Temporal server restarts; every queued start still runs exactly once, one at a time."""

from __future__ import annotations

import asyncio
import itertools
import signal
import time
from collections import defaultdict

from tests.faults.harness import Drill
from tests.faults.receivers import DrillReceiver

RUNS = 5
HOLD = 1.0  # each run holds its slot this long before its step


async def test_queued_starts_survive_a_worker_kill_and_a_temporal_restart(drill: Drill):
    await drill.start_all(workers=1)
    [worker] = drill.workers
    async with DrillReceiver() as receiver:
        workflow_id = await drill.create_workflow([
            {"$kind": "Block", "type": "delay", "id": "hold", "inputs": {"duration": f"{HOLD:g}s"}},
            {"$kind": "Action", "id": "call", "type": "webhook",
             "retry": {"max_attempts": 10, "initial_interval": "200ms", "backoff": 2.0, "max_interval": "2s"},
             "input": {"url": f"{receiver.url}/done", "body": {"n": "{{trigger.data.n}}"}}}],
            flow_control={"concurrency": {"limit": 1}})
        started = [await drill.trigger(workflow_id, {"n": n}) for n in range(RUNS)]
        drill.kill(worker)  # the gate and the runs lose their worker with every start but one queued
        killed_at = time.monotonic()
        drill.stop_temporal(signal.SIGINT)
        await asyncio.sleep(1)
        await drill.start_temporal()  # same database file and ports
        await drill.start_worker()
        details = [await drill.wait_for_status(s["id"], timeout=90) for s in started]
        finished_after = time.monotonic() - killed_at
        total = await drill.count_runs(workflow_id)
        completed = await drill.count_runs(workflow_id, "Completed")

    keys: dict[int, set[str]] = defaultdict(set)
    for request in receiver.requests:
        keys[request.json()["n"]].add(request.headers["idempotency-key"])
    first_arrivals = sorted(min(r.at for r in receiver.requests if r.json()["n"] == n) for n in keys)
    gaps = [round(later - earlier, 2) for earlier, later in itertools.pairwise(first_arrivals)]
    summary = (f"flow queue drill: statuses={[d['status'] for d in details]} runs={total} completed={completed} "
               f"receiver keys per n={ {n: len(k) for n, k in sorted(keys.items())} } gaps={gaps} "
               f"all done {finished_after:.1f}s after the kill")
    print(summary)
    assert {s["status"] for s in started} == {"queued"}, summary
    assert [d["status"] for d in details] == ["completed"] * RUNS, summary
    assert (total, completed) == (RUNS, RUNS), summary  # no start lost, none doubled
    assert sorted(keys) == list(range(RUNS)) and all(len(k) == 1 for k in keys.values()), summary
    assert all(gap >= HOLD - 0.1 for gap in gaps), summary  # still one at a time after the restart
