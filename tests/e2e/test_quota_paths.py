"""SPEC §3.3: a quota applies to every way a run starts: manual, webhook, event, threshold, schedule.
A tenant allowed one run a day spends it on a manual trigger; every other start is then refused."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from urllib.parse import urlparse

from sqlalchemy import text

from tests.e2e.quota_helpers import QUICK, set_quotas
from workflows.models import RunState
from workflows.threshold import WatcherState, watcher_id

THRESHOLD = {"trigger_type": "threshold", "trigger_configuration": {
    "metric": "errors", "operator": "greater_than", "value": 5, "time_window": "5m", "aggregate": "max"}}


async def _runs_of(relay, workflow_id: str) -> list:
    return [run async for run in relay.client.list_workflows(f"RelayWorkflowId = '{workflow_id}'")]


async def _eventually(probe, timeout: float = 30):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await probe()
        if result or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.2)


async def test_every_start_path_is_refused_beyond_the_quota(relay):
    tenant_id, key = await relay.tenant()
    await set_quotas(relay, tenant_id, {"max_runs_per_day": 1})
    async with relay.http(key) as http:
        manual = (await http.post("/v1/workflows", json={"name": "manual", **QUICK})).json()["data"]
        hook = (await http.post("/v1/workflows", json={"name": "hook", "trigger_type": "webhook", **QUICK})).json()["data"]
        event = (await http.post("/v1/workflows", json={
            "name": "event", "trigger_type": "event", "trigger_configuration": {"event": "deal.won"},
            **QUICK})).json()["data"]
        threshold = (await http.post("/v1/workflows", json={"name": "threshold", **THRESHOLD, **QUICK})).json()["data"]

        first = await http.post(f"/v1/workflows/{manual['id']}/trigger", json={})
        again = await http.post(f"/v1/workflows/{manual['id']}/trigger", json={})
        hooked = await http.post(urlparse(hook["webhook_url"]).path, json={"x": 1})
        fanned = await http.post("/v1/events", json={"type": "deal.won", "data": {}})
        now = datetime.now(timezone.utc)
        metrics = await http.post("/v1/metrics", json=[{"metric": "errors", "value": 50, "at": now.isoformat()}])
        watcher = relay.client.get_workflow_handle(watcher_id(tenant_id, threshold["id"]))

        async def refused_fire():
            state = await watcher.query("state", result_type=WatcherState)
            return state.recent_fires[0] if state.recent_fires and state.recent_fires[0].error else None

        fire = await _eventually(refused_fire)
        scheduled = (await http.post("/v1/workflows", json={
            "name": "schedule", "trigger_type": "schedule", "trigger_configuration": {"interval": "1s"},
            **QUICK})).json()["data"]
        [run, *_] = await _eventually(lambda: _runs_of(relay, scheduled["id"]))
        state = await relay.client.get_workflow_handle(run.id, result_type=RunState).result()
        await http.delete(f"/v1/workflows/{scheduled['id']}")
        await asyncio.sleep(1.0)  # visibility lags
        threshold_runs = await _runs_of(relay, threshold["id"])
        hook_runs = await _runs_of(relay, hook["id"])
        event_runs = await _runs_of(relay, event["id"])
    async with relay.sessions() as session:
        counted = (await session.exec(text("SELECT count FROM tenant_run_counters WHERE tenant_id = :t"),
                                      params={"t": tenant_id})).scalar()

    assert first.status_code == 201
    for refused in (again, hooked):
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"]["code"] == "quota_exceeded"
        assert refused.json()["error"]["details"] == [{"quota": "max_runs_per_day", "limit": 1}]
    assert fanned.status_code == 202
    fan = fanned.json()["data"]
    assert fan["matched"] == [event["id"]] and fan["instances"] == []
    assert [(r["workflow_id"], r["code"]) for r in fan["refused"]] == [(event["id"], "quota_exceeded")]
    assert metrics.status_code == 202
    assert fire.instance_id is None and fire.error.startswith("quota_exceeded")
    assert state.stop_reason.startswith("not run: quota_exceeded") and state.steps == {}
    assert threshold_runs == [] and hook_runs == [] and event_runs == []
    assert counted == 1
