"""Two `relay worker` processes on one task queue share a batch of runs (both take work)."""

from __future__ import annotations

import asyncio

from tests.faults.harness import Drill
from tests.faults.receivers import DrillReceiver


async def test_two_worker_processes_share_the_load(drill: Drill):
    await drill.start_all(workers=2)
    receiver = DrillReceiver()
    await receiver.start()
    try:
        blocks = [{"$kind": "Action", "id": f"s{i}", "type": "webhook",
                   "input": {"url": f"{receiver.url}/hook", "body": {"n": "{{trigger.data.n}}", "step": i}}}
                  for i in range(3)]
        workflow_id = await drill.create_workflow(blocks, max_triggers_per_day=None)
        instances = await asyncio.gather(*(drill.trigger(workflow_id, {"n": n}) for n in range(30)))
        done = [await drill.wait_for_status(i["id"]) for i in instances]
        client = await drill.client()
        identities: set[str] = set()
        for instance in instances:
            history = await client.get_workflow_handle(instance["temporal"]["workflow_id"]).fetch_history()
            for event in history.events:
                if event.HasField("activity_task_started_event_attributes"):
                    identities.add(event.activity_task_started_event_attributes.identity)
    finally:
        await receiver.stop()
    print(f"two workers: {len(done)} runs, {len(receiver.requests)} requests, activity workers {sorted(identities)}")
    assert {d["status"] for d in done} == {"completed"}
    assert len(receiver.requests) == 90
    assert len(identities) == 2, f"both workers should have run activities: {identities}"
