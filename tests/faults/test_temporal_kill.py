"""Drill 6: the Temporal dev server SIGKILLed with 20 runs mid-step and 20 asleep in a delay, restarted on its file."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from tests.faults.harness import Drill
from tests.faults.receivers import DrillReceiver

IN_FLIGHT = 20
SLEEPING = 20
STEP_TAKES = 1.5  # the receiver holds each in-flight request this long: the kill lands inside it
DELAY = 3.0
RETRY = {"max_attempts": 20, "initial_interval": "200ms", "backoff": 2.0, "max_interval": "2s"}


def step(url: str) -> dict:
    return {"$kind": "Action", "id": "call", "type": "webhook", "timeout": "8s", "retry": RETRY,
            "input": {"url": url, "body": {"n": "{{trigger.data.n}}"}}}


async def test_temporal_sigkill_every_run_completes_each_step_once_by_key(drill: Drill):
    await drill.start_all(workers=1)
    async with DrillReceiver() as receiver:
        for _ in range(IN_FLIGHT):
            receiver.respond(200, {"ok": True}, delay=STEP_TAKES)
        busy = await drill.create_workflow([step(f"{receiver.url}/busy")], max_triggers_per_day=None)
        sleepy = await drill.create_workflow([
            {"$kind": "Block", "type": "delay", "id": "nap", "inputs": {"duration": f"{DELAY:g}s"}},
            step(f"{receiver.url}/sleepy")], max_triggers_per_day=None)
        ids = await asyncio.gather(*(drill.trigger(sleepy, {"n": n}) for n in range(SLEEPING)),
                                   *(drill.trigger(busy, {"n": n}) for n in range(IN_FLIGHT)))
        deadline = time.monotonic() + 10
        while len(receiver.requests) < IN_FLIGHT:
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.02)
        held = len(receiver.requests)

        killed_at = time.monotonic()
        drill.stop_temporal(sig=9)  # SIGKILL: no shutdown, the SQLite file as the kill left it
        await asyncio.sleep(1.0)
        await drill.start_temporal()  # same --db-filename and ports
        back_after = time.monotonic() - killed_at

        details = [await drill.wait_for_status(i["id"], timeout=90) for i in ids]
        runs = await drill.count_runs(busy) + await drill.count_runs(sleepy)
        completed = (await drill.wait_for_count(busy, "Completed", IN_FLIGHT, timeout=30)
                     + await drill.wait_for_count(sleepy, "Completed", SLEEPING, timeout=30))
        done_after = time.monotonic() - killed_at
        await asyncio.sleep(0.5)  # a late duplicate would arrive now

    keys = Counter(r.headers.get("idempotency-key") for r in receiver.requests)
    expected = {f"{i['id']}:call" for i in ids}
    statuses = Counter(d["status"] for d in details)
    summary = (f"temporal sigkill: {held} steps held by the receiver and {SLEEPING} runs asleep at the kill; "
               f"server back {back_after:.1f}s and all done {done_after:.1f}s after it; statuses={dict(statuses)}; "
               f"runs={runs} completed={completed}; receiver requests={len(receiver.requests)} "
               f"distinct keys={len(keys)} (expected {len(expected)}) repeated keys={sum(c > 1 for c in keys.values())}")
    print(summary)
    assert held >= IN_FLIGHT // 2, f"the kill did not land mid-step: {summary}"
    assert statuses == {"completed": IN_FLIGHT + SLEEPING}, summary
    assert (runs, completed) == (IN_FLIGHT + SLEEPING, IN_FLIGHT + SLEEPING), summary
    # Each step delivered once by its idempotency key: every run's key reached the receiver, no other key did.
    assert set(keys) == expected, summary
