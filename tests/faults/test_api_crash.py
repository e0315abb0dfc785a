"""Drill 3: the API dies around starting a run; the client's retry with the same Idempotency-Key finds that run."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter

from app.services.runs import instance_id_for
from tests.faults.harness import Drill, trigger_body
from tests.faults.receivers import DrillReceiver


def idempotency_row(drill: Drill, key: str) -> tuple[str, int | None] | None:
    with sqlite3.connect(drill.tmp / "relay.db") as db:
        return db.execute("SELECT state, response_status FROM idempotency_keys WHERE tenant_id = ? AND "
                          "idempotency_key = ?", (drill.tenant_id, key)).fetchone()


def as_if_crashed_a_minute_ago(drill: Drill, key: str) -> None:
    """The row an API killed between starting the run and answering leaves, STALE_AFTER (120 s) later."""
    with sqlite3.connect(drill.tmp / "relay.db") as db:
        db.execute("UPDATE idempotency_keys SET state = 'in_progress', response_status = NULL, "
                   "response_body = NULL, response_headers = NULL, created_at = datetime(created_at, '-121 seconds') "
                   "WHERE tenant_id = ? AND idempotency_key = ?", (drill.tenant_id, key))


async def send_and_kill(drill: Drill, workflow_id: str, key: str, after: float) -> None:
    """Write a trigger request on a raw socket, SIGKILL the API `after` seconds later, never read the answer."""
    body = trigger_body({"key": key})
    request = (f"POST /v1/workflows/{workflow_id}/trigger HTTP/1.1\r\nHost: 127.0.0.1:{drill.api_port}\r\n"
               f"Authorization: Bearer {drill.key}\r\nContent-Type: application/json\r\n"
               f"Idempotency-Key: {key}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
    _, writer = await asyncio.open_connection("127.0.0.1", drill.api_port)
    writer.write(request)
    await writer.drain()
    if after:
        await asyncio.sleep(after)
    drill.kill(drill.api)
    writer.close()


async def test_api_killed_around_a_trigger_the_retry_finds_the_same_single_run(drill: Drill):
    await drill.start_all(workers=1)
    async with DrillReceiver() as receiver:
        workflow_id = await drill.create_workflow([
            {"$kind": "Action", "id": "call", "type": "webhook",
             "input": {"url": f"{receiver.url}/run", "body": {"key": "{{trigger.data.key}}"}}}])
        began = time.monotonic()
        await drill.trigger(workflow_id, {"key": "warm-up"}, idempotency_key="warm-up")
        latency = time.monotonic() - began

        outcomes: dict[str, str] = {}
        instances: dict[str, str] = {}
        # A real SIGKILL lands somewhere in the request's life: before the key is claimed, between
        # claiming it and starting the run, after the start, or after the answer is recorded.
        for n, fraction in enumerate((0.0, 0.5, 0.9)):
            key = f"kill-{n}"
            await send_and_kill(drill, workflow_id, key, after=latency * fraction)
            row = idempotency_row(drill, key)
            started = await drill.count_runs(workflow_id) - len(instances) - 1
            outcomes[key] = ("no record" if row is None else f"record {row[0]}") + f", run started={started > 0}"
            if row is not None and row[0] != "done":
                as_if_crashed_a_minute_ago(drill, key)  # the retry would otherwise wait out STALE_AFTER
            await drill.start_api()
            instances[key] = (await drill.trigger(workflow_id, {"key": key}, idempotency_key=key))["id"]

        # Deterministic: the run started and its answer was never recorded (the crash the derived id is for).
        key = "answer-lost"
        first = await drill.trigger(workflow_id, {"key": key}, idempotency_key=key)
        drill.kill(drill.api)
        as_if_crashed_a_minute_ago(drill, key)
        outcomes[key] = "run started, record left in_progress"
        await drill.start_api()
        again = await drill.trigger(workflow_id, {"key": key}, idempotency_key=key)
        instances[key] = again["id"]

        for instance_id in instances.values():
            await drill.wait_for_status(instance_id, timeout=60)
        total = await drill.count_runs(workflow_id)
        completed = await drill.wait_for_count(workflow_id, "Completed", total, timeout=30)

    per_key = Counter(r.json()["key"] for r in receiver.requests)
    summary = (f"api crash: trigger latency {latency * 1000:.0f} ms; outcomes={outcomes}; runs={total} "
               f"completed={completed} (expected {len(instances) + 1} incl. warm-up); receiver per key={dict(per_key)}")
    print(summary)
    for key, instance_id in instances.items():
        assert instance_id == instance_id_for(f"{drill.tenant_id}:{key}"), summary
    assert first["id"] == again["id"], summary
    assert total == completed == len(instances) + 1, summary  # one run per key, the warm-up included
    assert all(count == 1 for count in per_key.values()) and len(per_key) == len(instances) + 1, summary
