"""Drill 1: a worker SIGKILLed while a webhook step holds the receiver's request; another worker finishes the run.

Both kinds of step are drilled: a short step (timeout <= 5 s) runs as a local activity inside the
workflow task, a longer one as a regular activity (docs/decisions.md, "Local steps").
"""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.faults.harness import Drill
from tests.faults.receivers import DrillReceiver


@pytest.mark.parametrize("timeout", ["2s", "8s"], ids=["local-step", "regular-step"])
async def test_worker_killed_mid_step_the_run_completes_with_one_idempotency_key(drill: Drill, timeout: str):
    await drill.start_all(workers=1)
    [first_worker] = drill.workers
    async with DrillReceiver() as receiver:
        # The first answer is slow (1.5 s) but inside the step's timeout: only the kill can fail it.
        receiver.respond(200, {"ok": True}, delay=1.5)
        workflow_id = await drill.create_workflow([
            {"$kind": "Action", "id": "call", "type": "webhook", "timeout": timeout,
             "retry": {"max_attempts": 5, "initial_interval": "200ms", "backoff": 1.0, "max_interval": "200ms"},
             "input": {"url": f"{receiver.url}/hook", "body": {"n": 1}}}])
        instance = await drill.trigger(workflow_id)
        deadline = time.monotonic() + 30
        while not receiver.requests:  # the worker's request is in the receiver's hands
            assert time.monotonic() < deadline, f"the step never reached the receiver\n{drill.logs()}"
            await asyncio.sleep(0.02)
        drill.kill(first_worker)
        killed_at = time.monotonic()
        await drill.start_worker()
        done = await drill.wait_for_status(instance["id"], timeout=60)
        completed_after = time.monotonic() - killed_at
    retried_after = receiver.requests[-1].at - killed_at

    keys = [r.headers.get("idempotency-key") for r in receiver.requests]
    [step] = done["steps"]
    completed = await drill.count_runs(workflow_id, "Completed")
    total = await drill.count_runs(workflow_id)
    summary = (f"worker crash: receiver requests={len(receiver.requests)} idempotency keys={set(keys)} "
               f"step attempts={step['attempts']} status={done['status']} runs={total} completed={completed} "
               f"retry reached the receiver {retried_after:.1f}s and the run completed {completed_after:.1f}s after the kill")
    print(summary)
    assert done["status"] == "completed", summary
    assert step["status"] == "completed" and step["output"]["status_code"] == 200, summary
    assert keys == [f"{instance['id']}:call"] * len(keys), summary
    # The killed attempt reached the receiver; the retry is a second request under the same key.
    if timeout == "2s":
        # A local step's attempt lives inside the workflow task: the kill loses the task, the task times
        # out (10 s) and the next worker runs the step again as attempt 1 of a history that never saw
        # the lost one. So the record counts 1, and the retry waits for the task timeout.
        assert len(receiver.requests) == 2 and step["attempts"] == 1, summary
        assert retried_after >= 5, summary
    else:
        # A regular activity's attempt is in the history: the record counts every attempt (2 here;
        # more only if an attempt was lost before reaching the receiver).
        assert 2 <= len(receiver.requests) <= step["attempts"], summary
    assert (total, completed) == (1, 1), summary
