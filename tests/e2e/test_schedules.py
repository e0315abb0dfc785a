"""SPEC §2.2 schedule triggers: a real Temporal Schedule per workflow, paused while disabled,
updated on publish, deleted with the workflow, and held by the circuit breaker (§3.1)."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import ScheduleActionStartWorkflow, ScheduleDescription, ScheduleOverlapPolicy
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import ActivityEnvironment

from activities.models import AdmitInput
from app.services.schedules import schedule_id
from app.services.worker_activities import SLOT_TAKEN, ServiceActivities
from app.temporal import SA_TRIGGER_TYPE, SA_WORKFLOW_VERSION
from tests.helpers.runs import wait_for_status
from tests.receivers import HttpReceiver

WEEKDAYS_9AM = {"cron": "0 9 * * MON-FRI", "timezone": "Europe/Berlin"}


def calling(url: str, label: str = "v1") -> list[dict]:
    return [{"$kind": "Action", "id": "ping", "type": "webhook", "input": {"url": url, "body": {"version": label}}}]


def quiet(label: str = "v1") -> list[dict]:
    return [{"$kind": "Block", "type": "delay", "id": label, "inputs": {"duration": "0s"}}]


async def describe(relay, tenant_id: str, workflow_id: str) -> ScheduleDescription:
    return await relay.client.get_schedule_handle(schedule_id(tenant_id, workflow_id)).describe()


async def eventually(probe, timeout: float = 20, every: float = 0.2):
    """Poll `probe()` until it returns something truthy (visibility and schedules are eventually consistent)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await probe()
        if result or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(every)


async def scheduled_runs(relay, workflow_id: str) -> list:
    query = f"RelayWorkflowId = '{workflow_id}' AND RelayTriggerType = 'schedule'"
    return [execution async for execution in relay.client.list_workflows(query)]


async def _at_least(runs, n: int):
    found = await runs
    return found if len(found) >= n else None


async def _schedules_of(relay, workflow_id: str) -> list:
    return [s async for s in await relay.client.list_schedules(f"RelayWorkflowId = '{workflow_id}'")]


async def test_a_schedule_workflow_runs_on_its_temporal_schedule(relay):
    tenant_id, key = await relay.tenant()
    async with HttpReceiver() as receiver, relay.http(key) as http:
        created = await http.post("/v1/workflows", json={
            "name": "every second", "trigger_type": "schedule", "trigger_configuration": {"interval": "1s"},
            "workflow_blocks": calling(receiver.url)})
        assert created.status_code == 201, created.text
        workflow_id = created.json()["data"]["id"]
        described = await describe(relay, tenant_id, workflow_id)
        runs = await eventually(lambda: _at_least(scheduled_runs(relay, workflow_id), 2))
        instance_id = runs[-1].id.partition(":")[2]
        instance = await wait_for_status(http, instance_id, {"completed"})
        listed = await eventually(lambda: _schedules_of(relay, workflow_id))
        await http.delete(f"/v1/workflows/{workflow_id}")

    assert described.schedule.spec.intervals[0].every == timedelta(seconds=1)
    assert described.schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
    assert described.schedule.state.paused is False
    action = described.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert action.workflow == "RelayWorkflow" and action.task_queue == relay.settings.task_queue
    assert action.typed_search_attributes.get(SA_TRIGGER_TYPE) == "schedule"
    assert action.typed_search_attributes.get(SA_WORKFLOW_VERSION) == 1
    assert listed, "the schedule is listed in Temporal visibility under its workflow id"
    assert instance_id.startswith(f"inst_s{workflow_id.removeprefix('wf_')}-")
    assert instance["workflow_id"] == workflow_id and instance["workflow_version"] == 1
    assert instance["trigger"]["type"] == "schedule"
    assert instance["steps"][0]["status"] == "completed"
    assert receiver.requests, "the scheduled runs called the webhook"
    assert len({r.headers["idempotency-key"] for r in receiver.requests}) == len(receiver.requests)


async def test_disable_pauses_publish_updates_and_delete_removes_the_schedule(relay):
    tenant_id, key = await relay.tenant()
    async with relay.http(key) as http:
        workflow_id = (await http.post("/v1/workflows", json={
            "name": "weekday mornings", "trigger_type": "schedule",
            "trigger_configuration": {**WEEKDAYS_9AM, "overlap": "buffer_one"},
            "workflow_blocks": quiet()})).json()["data"]["id"]
        first = await describe(relay, tenant_id, workflow_id)

        disabled = await http.patch(f"/v1/workflows/{workflow_id}", json={"enabled": False})
        paused = await describe(relay, tenant_id, workflow_id)
        await http.patch(f"/v1/workflows/{workflow_id}", json={"enabled": True})
        unpaused = await describe(relay, tenant_id, workflow_id)

        await http.patch(f"/v1/workflows/{workflow_id}", json={"workflow_blocks": quiet("v2"), "publish": False})
        draft = await describe(relay, tenant_id, workflow_id)
        published = await http.post(f"/v1/workflows/{workflow_id}/publish", json={})
        second = await describe(relay, tenant_id, workflow_id)
        await http.patch(f"/v1/workflows/{workflow_id}", json={"trigger_configuration": {"interval": "1h"}})
        interval = await describe(relay, tenant_id, workflow_id)

        await http.patch(f"/v1/workflows/{workflow_id}", json={"trigger_type": "manual", "trigger_configuration": {}})
        with pytest.raises(RPCError) as manual:
            await describe(relay, tenant_id, workflow_id)
        await http.post(f"/v1/workflows/{workflow_id}/publish", json={"version": 3})
        back = await describe(relay, tenant_id, workflow_id)

        deleted = await http.delete(f"/v1/workflows/{workflow_id}")
        with pytest.raises(RPCError) as gone:
            await describe(relay, tenant_id, workflow_id)

    assert first.schedule.spec.time_zone_name == "Europe/Berlin"
    berlin = [t.astimezone(ZoneInfo("Europe/Berlin")) for t in first.info.next_action_times]
    assert berlin and all((t.hour, t.minute, t.weekday() < 5) == (9, 0, True) for t in berlin)
    assert first.schedule.policy.overlap == ScheduleOverlapPolicy.BUFFER_ONE
    assert disabled.status_code == 200 and disabled.json()["data"]["enabled"] is False
    assert paused.schedule.state.paused is True and paused.schedule.state.note == "disabled"
    assert unpaused.schedule.state.paused is False
    assert draft.schedule.action.typed_search_attributes.get(SA_WORKFLOW_VERSION) == 1
    assert published.json()["data"]["active_version"] == 2
    assert second.schedule.action.typed_search_attributes.get(SA_WORKFLOW_VERSION) == 2
    assert interval.schedule.spec.intervals[0].every == timedelta(hours=1)
    assert interval.schedule.action.typed_search_attributes.get(SA_WORKFLOW_VERSION) == 3
    assert manual.value.status == RPCStatusCode.NOT_FOUND
    assert back.schedule.action.typed_search_attributes.get(SA_WORKFLOW_VERSION) == 3
    assert deleted.status_code == 200
    assert gone.value.status == RPCStatusCode.NOT_FOUND


async def test_the_circuit_breaker_stops_a_schedule_after_max_triggers_per_day(relay):
    tenant_id, key = await relay.tenant()
    async with HttpReceiver() as receiver, relay.http(key) as http:
        workflow_id = (await http.post("/v1/workflows", json={
            "name": "twice a day at most", "trigger_type": "schedule", "trigger_configuration": {"interval": "1s"},
            "max_triggers_per_day": 2, "workflow_blocks": calling(receiver.url)})).json()["data"]["id"]

        async def tripped():
            data = (await http.get(f"/v1/workflows/{workflow_id}")).json()["data"]
            return data if data["disabled_reason"] == "circuit_breaker" else None

        detail = await eventually(tripped, timeout=30)
        schedule = await describe(relay, tenant_id, workflow_id)
        await asyncio.sleep(2.5)  # a paused schedule starts nothing more
        alerts = [a for a in (await http.get("/v1/alerts")).json()["data"] if a["workflow_id"] == workflow_id]

        reenabled = await http.patch(f"/v1/workflows/{workflow_id}", json={"enabled": True})
        resumed = await describe(relay, tenant_id, workflow_id)
        await http.delete(f"/v1/workflows/{workflow_id}")

    assert detail and detail["enabled"] is False
    assert schedule.schedule.state.paused is True and schedule.schedule.state.note == "circuit_breaker"
    assert len(receiver.requests) == 2
    assert [a["kind"] for a in alerts] == ["circuit_breaker"]
    assert reenabled.json()["data"]["enabled"] is True and resumed.schedule.state.paused is False


async def test_admission_refuses_runs_of_deleted_disabled_or_foreign_workflows(relay):
    """A fire that races a disable (the schedule not yet paused) is refused by the admission activity."""
    tenant_id, key = await relay.tenant()
    async with relay.http(key) as http:
        workflow_id = (await http.post("/v1/workflows", json={
            "name": "raced", "trigger_type": "schedule", "trigger_configuration": WEEKDAYS_9AM,
            "workflow_blocks": quiet()})).json()["data"]["id"]
        admission = ServiceActivities(relay.settings, relay.sessions)
        env = ActivityEnvironment(client=relay.client)
        allowed = await env.run(admission.admit_scheduled_run, AdmitInput(tenant_id=tenant_id, workflow_id=workflow_id))
        other_tenant = await env.run(admission.admit_scheduled_run, AdmitInput(tenant_id="someone-else", workflow_id=workflow_id))
        await http.patch(f"/v1/workflows/{workflow_id}", json={"enabled": False})
        disabled = await env.run(admission.admit_scheduled_run, AdmitInput(tenant_id=tenant_id, workflow_id=workflow_id))
        await http.delete(f"/v1/workflows/{workflow_id}")
        deleted = await env.run(admission.admit_scheduled_run, AdmitInput(tenant_id=tenant_id, workflow_id=workflow_id))

    assert allowed.allowed is True
    assert other_tenant.allowed is False and "deleted" in other_tenant.reason
    assert disabled.allowed is False and "disabled" in disabled.reason
    assert deleted.allowed is False and "deleted" in deleted.reason


async def test_a_retried_admission_does_not_count_the_run_twice(relay):
    tenant_id, key = await relay.tenant()
    async with relay.http(key) as http:
        workflow_id = (await http.post("/v1/workflows", json={
            "name": "once", "trigger_type": "schedule", "trigger_configuration": WEEKDAYS_9AM,
            "max_triggers_per_day": 1, "workflow_blocks": quiet()})).json()["data"]["id"]
        admission, admit = ServiceActivities(relay.settings, relay.sessions), AdmitInput(tenant_id=tenant_id, workflow_id=workflow_id)
        first = ActivityEnvironment(client=relay.client)
        beats: list = []
        first.on_heartbeat = lambda *details: beats.append(details)
        counted = await first.run(admission.admit_scheduled_run, admit)
        retry = ActivityEnvironment(client=relay.client)
        retry.info = dataclasses.replace(retry.info, attempt=2, heartbeat_details=list(beats[-1]))
        retried = await retry.run(admission.admit_scheduled_run, admit)
        still_enabled = (await http.get(f"/v1/workflows/{workflow_id}")).json()["data"]["enabled"]
        over = await ActivityEnvironment(client=relay.client).run(admission.admit_scheduled_run, admit)
        detail = (await http.get(f"/v1/workflows/{workflow_id}")).json()["data"]
        schedule = await describe(relay, tenant_id, workflow_id)
        await http.delete(f"/v1/workflows/{workflow_id}")

    assert counted.allowed is True and beats == [(SLOT_TAKEN,)]
    assert retried.allowed is True and still_enabled is True
    assert over.allowed is False and over.reason.startswith("circuit_breaker")
    assert detail["enabled"] is False and detail["disabled_reason"] == "circuit_breaker"
    assert schedule.schedule.state.paused is True and schedule.schedule.state.note == "circuit_breaker"
