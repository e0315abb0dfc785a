"""SPEC §3.3 quotas: exact under concurrency (SQLite and PostgreSQL), 429 quota_exceeded naming the
quota and its limit, nothing started or stored beyond it, and a run that ends gives its slot back."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from tests.e2e.quota_helpers import QUICK, SLOW, set_quotas
from tests.helpers.relay import relay_settings, start_relay
from tests.helpers.runs import wait_for_status


async def _count(relay, query: str) -> int:
    return (await relay.client.count_workflows(query)).count


async def _settled_count(relay, query: str, expected: int) -> int:
    """Visibility lags: wait until it shows `expected`, then a while longer (no run may appear late)."""
    for _ in range(100):
        if await _count(relay, query) >= expected:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)
    return await _count(relay, query)


async def _scalar(relay, sql: str, **params) -> object:
    async with relay.sessions() as session:
        return (await session.exec(text(sql), params=params)).scalar()


async def test_fifty_racing_triggers_against_five_running_instances_start_exactly_five(database_url, temporal_env):
    async for relay in start_relay(relay_settings(database_url, temporal_env), temporal_env.client):
        tenant_id, key = await relay.tenant()
        await set_quotas(relay, tenant_id, {"max_running_instances": 5})
        async with relay.http(key) as http:
            workflow = (await http.post("/v1/workflows", json={"name": "slow", "max_triggers_per_day": None,
                                                               **SLOW})).json()["data"]
            answers = await asyncio.gather(*(http.post(f"/v1/workflows/{workflow['id']}/trigger", json={})
                                             for _ in range(50)))
            started = [a.json()["data"]["id"] for a in answers if a.status_code == 201]
            query = f"RelayWorkflowId = '{workflow['id']}'"
            in_temporal = await _settled_count(relay, query, 5)
            held = await _scalar(relay, "SELECT count(*) FROM running_slots WHERE tenant_id = :t", t=tenant_id)
            counted = await _scalar(relay, "SELECT count FROM tenant_running WHERE tenant_id = :t", t=tenant_id)
            # a run that ends (here: cancelled) gives its slot back to the next start, and only one
            cancelled = await http.post(f"/v1/instances/{started[0]}/cancel")
            await wait_for_status(http, started[0], {"cancelled"})
            after = [await http.post(f"/v1/workflows/{workflow['id']}/trigger", json={}) for _ in range(2)]
            for instance_id in started[1:] + [a.json()["data"]["id"] for a in after if a.status_code == 201]:
                await http.post(f"/v1/instances/{instance_id}/cancel")
    refused = [a for a in answers if a.status_code != 201]
    assert len(started) == 5 and len(refused) == 45, sorted(a.status_code for a in answers)
    assert {a.status_code for a in refused} == {429}
    body = refused[0].json()["error"]
    assert body["code"] == "quota_exceeded" and "max_running_instances" in body["message"]
    assert body["details"] == [{"quota": "max_running_instances", "limit": 5}]
    assert refused[0].headers["Retry-After"].isdigit()
    assert in_temporal == 5 and held == 5 and counted == 5
    assert cancelled.status_code == 200
    assert [a.status_code for a in after] == [201, 429]


async def test_fifty_racing_triggers_against_five_runs_a_day_start_exactly_five(database_url, temporal_env):
    async for relay in start_relay(relay_settings(database_url, temporal_env), temporal_env.client):
        tenant_id, key = await relay.tenant()
        await set_quotas(relay, tenant_id, {"max_runs_per_day": 5})
        async with relay.http(key) as http:
            one = (await http.post("/v1/workflows", json={"name": "one", **QUICK})).json()["data"]
            two = (await http.post("/v1/workflows", json={"name": "two", **QUICK})).json()["data"]
            answers = await asyncio.gather(*(http.post(f"/v1/workflows/{wf['id']}/trigger", json={})
                                             for wf in (one, two) for _ in range(25)))
            in_temporal = await _settled_count(relay, f"RelayTenant = '{tenant_id}'", 5)
            counted = await _scalar(relay, "SELECT sum(count) FROM tenant_run_counters WHERE tenant_id = :t",
                                    t=tenant_id)
            breakers = await _scalar(relay, "SELECT sum(count) FROM trigger_counters WHERE tenant_id = :t",
                                     t=tenant_id)
            both = [(await http.get(f"/v1/workflows/{wf['id']}")).json()["data"]["enabled"] for wf in (one, two)]
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] * 5 + [429] * 45
    refusal = next(a for a in answers if a.status_code == 429)
    assert refusal.json()["error"]["details"] == [{"quota": "max_runs_per_day", "limit": 5}]
    assert int(refusal.headers["Retry-After"]) <= 86400
    # nothing started or counted beyond the quota: not the tenant's day, not the workflows' breakers
    assert in_temporal == 5 and counted == 5 and breakers == 5
    assert both == [True, True]


async def test_racing_creates_against_max_workflows_create_exactly_the_limit(database_url, temporal_env):
    async for relay in start_relay(relay_settings(database_url, temporal_env), temporal_env.client,
                                   with_worker=False):
        tenant_id, key = await relay.tenant()
        await set_quotas(relay, tenant_id, {"max_workflows": 3})
        async with relay.http(key) as http:
            answers = await asyncio.gather(*(http.post("/v1/workflows", json={"name": f"w{i}", **QUICK})
                                             for i in range(12)))
            listed = (await http.get("/v1/workflows")).json()["meta"]["total"]
            audited = (await http.get("/v1/audit", params={"limit": 100})).json()["data"]
    assert sorted(a.status_code for a in answers) == [201] * 3 + [429] * 9
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.headers["Retry-After"] == "60"  # SPEC §3: every 429 carries it
    refusal = refused.json()["error"]
    assert refusal["code"] == "quota_exceeded"
    assert refusal["details"] == [{"quota": "max_workflows", "limit": 3}]
    assert listed == 3
    assert [e["action"] for e in audited if e["resource"]["type"] == "workflow"] == ["workflow.created"] * 3  # none for a refused create
