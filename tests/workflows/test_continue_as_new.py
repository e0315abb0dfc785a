"""Long loops continue as new at iteration boundaries, carrying all state (real dev server)."""

from __future__ import annotations

import uuid

from temporalio.worker import Worker

from activities import RelayActivities
from activities.connections import InMemoryConnectionStore
from app.config import Settings
from tests.receivers import HttpReceiver
from worker import activity_settings
from workflows.definition import Definition
from workflows.interpreter import RelayWorkflow
from workflows.models import EventSignal, RunInput, RunState, TriggerInfo


async def test_a_long_for_each_continues_as_new_and_loses_nothing(temporal_env):
    client = temporal_env.client
    queue = f"can-{uuid.uuid4().hex[:8]}"
    settings = Settings(env="test", outbound_allow="127.0.0.1/32")
    async with HttpReceiver() as receiver:
        blocks = [
            {"$kind": "Action", "id": "before", "type": "webhook", "input": {"url": receiver.url, "body": {"at": "start"}}},
            {"$kind": "Block", "type": "for_each", "id": "lines", "inputs": {"items": "{{trigger.data.items}}", "max_concurrency": 4},
             "branches": {"do": [{"$kind": "Action", "id": "line", "type": "webhook",
                                  "input": {"url": receiver.url, "body": {"n": "{{item}}", "first": "{{before.output.status_code}}"}}}]}},
            {"$kind": "Action", "id": "after", "type": "webhook",
             "input": {"url": receiver.url, "body": {"count": "{{lines.output.count}}", "first": "{{before.output.status_code}}"}}},
        ]
        instance_id = f"inst_{uuid.uuid4().hex}"
        run = RunInput(tenant_id="ten_c", instance_id=instance_id, workflow_id="wf_c", workflow_name="long", version=1,
                       definition=Definition.model_validate({"name": "long", "workflow_blocks": blocks}),
                       trigger=TriggerInfo(data={"items": list(range(250))}), continue_every=100)
        async with Worker(client, task_queue=queue, workflows=[RelayWorkflow],
                          activities=RelayActivities(activity_settings(settings), InMemoryConnectionStore()).list()):
            handle = await client.start_workflow(RelayWorkflow.run, run, id=f"ten_c:{instance_id}", task_queue=queue)
            await handle.signal(RelayWorkflow.on_event, EventSignal(name="kept", payload=1))
            result: RunState = await client.get_workflow_handle(handle.id, result_type=RunState).result()
            runs = [e async for e in client.list_workflows(f"WorkflowId = '{handle.id}'")]
    bodies = [r.json() for r in receiver.requests]
    numbers = sorted(b["n"] for b in bodies if "n" in b)
    assert numbers == list(range(250))  # every item once, none twice
    assert len({r.headers["idempotency-key"] for r in receiver.requests}) == 252
    assert bodies[-1] == {"count": 250, "first": 200}  # outputs from before the first continue-as-new survive
    assert all(b["first"] == 200 for b in bodies if "n" in b)
    assert result.status == "completed"
    assert result.steps["lines"].output["count"] == 250 and result.steps["lines"].output["results_truncated"]
    assert len(result.steps["lines"].output["results"]) == 100
    assert result.pending_events == {"kept": [1]}  # signals received before continuing are carried
    assert len(runs) >= 3  # 250 iterations at 100 per run


async def test_ten_thousand_items_never_take_a_history_past_ten_thousand_events(temporal_env):
    """Every iteration issues commands (a timer), so the loop writes ~30,000 events in all;
    continuing as new when the server suggests it keeps each execution's history small."""
    client = temporal_env.client
    queue = f"can10k-{uuid.uuid4().hex[:8]}"
    blocks = [{"$kind": "Block", "type": "for_each", "id": "lines",
               "inputs": {"items": "{{trigger.data.items}}", "max_concurrency": 100},
               "branches": {"do": [{"$kind": "Block", "type": "delay", "id": "tick", "inputs": {"duration": "1ms"}}]}}]
    instance_id = f"inst_{uuid.uuid4().hex}"
    run = RunInput(tenant_id="ten_c", instance_id=instance_id, workflow_id="wf_c", workflow_name="10k", version=1,
                   definition=Definition.model_validate({"name": "10k", "workflow_blocks": blocks}),
                   trigger=TriggerInfo(data={"items": list(range(10_000))}))
    async with Worker(client, task_queue=queue, workflows=[RelayWorkflow]):
        handle = await client.start_workflow(RelayWorkflow.run, run, id=f"ten_c:{instance_id}", task_queue=queue)
        result: RunState = await client.get_workflow_handle(handle.id, result_type=RunState).result()
        lengths = [execution.history_length async for execution in client.list_workflows(f"WorkflowId = '{handle.id}'")]
    print(f"10,000 items: {len(lengths)} executions, history lengths {sorted(lengths)}")
    assert result.status == "completed" and result.steps["lines"].output["count"] == 10_000
    assert len(lengths) >= 2 and max(lengths) < 10_000
