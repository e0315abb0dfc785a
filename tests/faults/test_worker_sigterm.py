"""Drill 7: `relay worker` stopped with SIGTERM while a step holds the receiver's request: it drains."""

from __future__ import annotations

import asyncio
import signal
import time

from tests.faults.harness import Drill
from tests.faults.receivers import DrillReceiver

STEP_TAKES = 2.0
GRACEFUL = 10.0  # worker.py build_worker: graceful_shutdown_timeout


async def test_worker_sigterm_mid_step_drains_and_no_step_is_lost_or_repeated(drill: Drill):
    await drill.start_all(workers=1)
    [worker] = drill.workers
    async with DrillReceiver() as receiver:
        receiver.respond(200, {"ok": True}, delay=STEP_TAKES)
        workflow_id = await drill.create_workflow([
            {"$kind": "Action", "id": "call", "type": "webhook", "timeout": "8s",
             "retry": {"max_attempts": 5, "initial_interval": "200ms", "backoff": 1.0, "max_interval": "200ms"},
             "input": {"url": f"{receiver.url}/hook", "body": {"n": 1}}},
            {"$kind": "Action", "id": "after", "type": "webhook",
             "input": {"url": f"{receiver.url}/after", "body": {"n": 2}}}])
        instance = await drill.trigger(workflow_id)
        deadline = time.monotonic() + 30
        while not receiver.requests:
            assert time.monotonic() < deadline, f"the step never reached the receiver\n{drill.logs()}"
            await asyncio.sleep(0.02)
        stopped_at = time.monotonic()
        await asyncio.to_thread(worker.stop, signal.SIGTERM, GRACEFUL + 5)
        drained_in = time.monotonic() - stopped_at
        exit_code = worker.popen.returncode
        answered = receiver.requests[0].at - stopped_at + STEP_TAKES
        await drill.start_worker()
        done = await drill.wait_for_status(instance["id"], timeout=60)
        total = await drill.count_runs(workflow_id)
        completed = await drill.wait_for_count(workflow_id, "Completed", 1, timeout=30)

    paths = [r.path for r in receiver.requests]
    steps = {s["step_id"] if "step_id" in s else s.get("id"): (s["status"], s["attempts"]) for s in done["steps"]}
    summary = (f"worker sigterm: the worker exited {exit_code} {drained_in:.1f}s after SIGTERM (graceful timeout "
               f"{GRACEFUL:g}s; the held step was answered {answered:.1f}s after it); receiver requests="
               f"{len(receiver.requests)} {paths}; steps={steps}; status={done['status']} runs={total} "
               f"completed={completed}")
    print(summary)
    assert exit_code == 0 and drained_in < GRACEFUL + 2, summary  # drained, not SIGKILLed by the harness
    assert done["status"] == "completed", summary
    assert len(receiver.requests) == 2, summary  # the held step once (finished, not handed back), then the next
    assert all(attempts == 1 and status == "completed" for status, attempts in steps.values()), summary
    assert (total, completed) == (1, 1), summary
