"""Long waits complete in seconds under the time-skipping test server (no API involved)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from temporalio.worker import Worker

from activities import InMemoryConnectionStore, RelayActivities
from app.config import Settings
from tests.receivers import HttpReceiver
from worker import activity_settings
from workflows.definition import Definition
from workflows.interpreter import RelayWorkflow
from workflows.models import EventSignal, RunInput, RunState, TriggerInfo


def run_input(blocks: list[dict]) -> RunInput:
    definition = Definition.model_validate({"name": "long", "workflow_blocks": blocks})
    return RunInput(tenant_id="ten_t", instance_id=f"inst_{uuid.uuid4().hex}", workflow_id="wf_t",
                    workflow_name="long", version=1, definition=definition, trigger=TriggerInfo(data={"who": "kim"}))


async def test_three_day_delay_and_wait_timeout_complete_quickly(time_skipping_env):
    settings = Settings(env="test", outbound_allow="127.0.0.1/32")
    queue = f"ts-{uuid.uuid4().hex[:8]}"
    async with HttpReceiver() as receiver:
        blocks = [
            {"$kind": "Block", "type": "delay", "id": "three_days", "inputs": {"duration": "3d"}},
            {"$kind": "Block", "type": "wait_for_event", "id": "approval", "inputs": {"event": "approved", "timeout": "2d"},
             "branches": {"timeout": [{"$kind": "Action", "id": "remind", "type": "webhook",
                                       "input": {"url": receiver.url, "body": {"remind": "{{who}}"}}}]}},
        ]
        activities = RelayActivities(activity_settings(settings), InMemoryConnectionStore())
        async with Worker(time_skipping_env.client, task_queue=queue, workflows=[RelayWorkflow],
                          activities=activities.list()):
            run = run_input(blocks)
            result = await time_skipping_env.client.execute_workflow(
                RelayWorkflow.run, run, id=run.instance_id, task_queue=queue, result_type=RunState)
    assert result.status == "completed"
    assert result.steps["three_days"].output == {"slept_seconds": 259200.0}
    assert result.steps["approval"].branch == "timeout"
    elapsed = result.steps["remind"].started_at - result.steps["three_days"].started_at
    assert elapsed.total_seconds() >= 5 * 86400  # workflow time moved five days
    assert receiver.requests[0].json() == {"remind": "kim"}


async def test_signal_before_timeout_takes_the_received_branch(time_skipping_env):
    queue = f"ts-{uuid.uuid4().hex[:8]}"
    blocks = [{"$kind": "Block", "type": "wait_for_event", "id": "approval", "inputs": {"event": "approved", "timeout": "3d"}}]
    activities = RelayActivities(activity_settings(Settings(env="test")), InMemoryConnectionStore())
    async with Worker(time_skipping_env.client, task_queue=queue, workflows=[RelayWorkflow], activities=activities.list()):
        run = run_input(blocks)
        handle = await time_skipping_env.client.start_workflow(
            RelayWorkflow.run, run, id=run.instance_id, task_queue=queue, result_type=RunState)
        await handle.signal(RelayWorkflow.on_event, EventSignal(name="approved", payload={"by": "lee"}))
        result = await handle.result()
    assert result.steps["approval"].branch == "received"
    assert result.steps["approval"].output == {"by": "lee"}


async def test_a_delay_until_without_offset_is_utc_and_a_bad_duration_fails_the_run(time_skipping_env):
    """Two delays that used to fail their workflow task for ever (a hung run): an `until` without a
    UTC offset (naive minus aware) and a duration rendered to a list (unhashable in the cache)."""
    import pytest
    from temporalio.client import WorkflowFailureError

    from worker import workflow_runner

    queue = f"ts-{uuid.uuid4().hex[:8]}"
    activities = RelayActivities(activity_settings(Settings(env="test")), InMemoryConnectionStore())
    async with Worker(time_skipping_env.client, task_queue=queue, workflows=[RelayWorkflow],
                      activities=activities.list(), workflow_runner=workflow_runner()):
        naive = run_input([{"$kind": "Block", "type": "delay", "id": "until", "inputs": {"until": "{{due}}"}}])
        now = await time_skipping_env.get_current_time()  # the server's clock, which other tests moved on
        naive.trigger.data["due"] = (now + timedelta(days=40)).replace(tzinfo=None).isoformat()
        handle = await time_skipping_env.client.start_workflow(
            RelayWorkflow.run, naive, id=naive.instance_id, task_queue=queue, result_type=RunState)
        result = await handle.result()
        listed = run_input([{"$kind": "Block", "type": "delay", "id": "pause", "inputs": {"duration": "{{d}}"}}])
        listed.trigger.data["d"] = [1, 2]
        failing = await time_skipping_env.client.start_workflow(
            RelayWorkflow.run, listed, id=listed.instance_id, task_queue=queue, result_type=RunState)
        with pytest.raises(WorkflowFailureError) as failed:
            await failing.result()
    assert result.status == "completed" and result.steps["until"].output["slept_seconds"] > 30 * 86400
    assert "not a duration" in str(failed.value.cause)
