"""Drill 2: the Temporal dev server stops while runs sleep in a delay and comes back on the same database file."""

from __future__ import annotations

import asyncio
import signal
import time

from tests.faults.harness import Drill
from tests.faults.receivers import DrillReceiver

RUNS = 5
DELAY = 4.0
DOWN_FOR = 3.0


async def test_temporal_restart_every_sleeping_run_resumes_and_completes_once(drill: Drill):
    await drill.start_all(workers=1)
    async with DrillReceiver() as receiver:
        workflow_id = await drill.create_workflow([
            {"$kind": "Block", "type": "delay", "id": "nap", "inputs": {"duration": f"{DELAY:g}s"}},
            {"$kind": "Action", "id": "call", "type": "webhook",
             "retry": {"max_attempts": 10, "initial_interval": "200ms", "backoff": 2.0, "max_interval": "2s"},
             "input": {"url": f"{receiver.url}/done", "body": {"n": "{{trigger.data.n}}"}}}])
        due: dict[int, float] = {}
        ids: dict[int, str] = {}
        for n in range(RUNS):
            ids[n] = (await drill.trigger(workflow_id, {"n": n}))["id"]
            due[n] = time.monotonic() + DELAY
        # visibility lags the starts a little: wait (briefly, the delays must not fall due yet) for all five
        running = await drill.wait_for_count(workflow_id, "Running", RUNS, timeout=2)

        stopped_at = time.monotonic()
        drill.stop_temporal(signal.SIGINT)  # Ctrl-C: the dev server shuts down and closes its SQLite file
        stop_took = time.monotonic() - stopped_at
        await asyncio.sleep(DOWN_FOR)
        assert receiver.requests == [], "a step ran while Temporal was down"
        restarted_at = time.monotonic()
        await drill.start_temporal()  # same --db-filename and ports
        back_at = time.monotonic()
        up_took = back_at - restarted_at
        print(f"temporal restart: {running} runs sleeping; SIGINT stop took {stop_took:.1f}s, down {DOWN_FOR:g}s, "
              f"start took {up_took:.1f}s; the last delay fell due {max(due.values()) - stopped_at:.1f}s after the stop")

        details = [await drill.wait_for_status(ids[n], timeout=60) for n in range(RUNS)]
        completed = await drill.wait_for_count(workflow_id, "Completed", RUNS, timeout=30)
        total = await drill.count_runs(workflow_id)

    seen = sorted(r.json()["n"] for r in receiver.requests)
    arrival = {r.json()["n"]: r.at for r in receiver.requests}
    lateness = {n: round(arrival[n] - due[n], 1) for n in sorted(arrival)}
    after_return = {n: round(arrival[n] - max(due[n], back_at), 1) for n in sorted(arrival)}
    summary = (f"temporal restart: runs={total} completed={completed} statuses={[d['status'] for d in details]} "
               f"receiver saw n={seen}; step late vs the delay's due time (s)={lateness}; "
               f"vs max(due, server back) (s)={after_return}")
    print(summary)
    assert running == RUNS, summary
    assert [d["status"] for d in details] == ["completed"] * RUNS, summary
    assert seen == list(range(RUNS)), summary  # each run's step reached the receiver exactly once
    assert (total, completed) == (RUNS, RUNS), summary
    # Timers that fell due while the server was down fire once it is back: late by about the outage, not lost.
    assert all(late < 30 for late in lateness.values()), summary
