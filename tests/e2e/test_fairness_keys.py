"""SPEC §3.3 fairness: every run carries its tenant as Temporal's fairness key, whichever way it
starts (an API trigger, a Temporal Schedule's action)."""

from __future__ import annotations

from app.services.schedules import schedule_id
from app.temporal import temporal_workflow_id
from tests.e2e.quota_helpers import QUICK


async def test_runs_and_schedules_carry_the_tenant_as_fairness_key(relay):
    tenant_id, key = await relay.tenant()
    async with relay.http(key) as http:
        manual = (await http.post("/v1/workflows", json={"name": "fair", **QUICK})).json()["data"]
        instance = (await http.post(f"/v1/workflows/{manual['id']}/trigger", json={})).json()["data"]
        scheduled = (await http.post("/v1/workflows", json={
            "name": "fair schedule", "trigger_type": "schedule",
            "trigger_configuration": {"cron": "0 9 * * MON-FRI"}, **QUICK})).json()["data"]
        described = await relay.client.get_workflow_handle(temporal_workflow_id(tenant_id, instance["id"])).describe()
        schedule = await relay.client.get_schedule_handle(schedule_id(tenant_id, scheduled["id"])).describe()
        await http.delete(f"/v1/workflows/{scheduled['id']}")
    priority = described.raw_description.workflow_execution_info.priority
    assert priority.fairness_key == tenant_id
    assert priority.priority_key == 0  # unset: Temporal's default (3)
    assert schedule.schedule.action.priority.fairness_key == tenant_id
