"""SPEC §3.1: the circuit breaker is exact under concurrency, alerts, and resets when re-enabled."""

from __future__ import annotations

import asyncio

from tests.helpers.relay import relay_settings, sqlite_url, start_relay
from tests.receivers import HttpReceiver, SmtpReceiver

QUICK = {"workflow_blocks": [{"$kind": "Block", "type": "delay", "id": "d", "inputs": {"duration": "0s"}}]}


async def test_fifty_racing_triggers_start_exactly_the_limit(database_url, temporal_env):
    async for relay in start_relay(relay_settings(database_url, temporal_env), temporal_env.client):
        await _race(relay)


async def _race(relay):
    _, key = await relay.tenant()
    async with HttpReceiver() as alerts, relay.http(key) as http:
        connection = await http.post("/v1/connections", json={"name": "ops", "type": "alert", "config": {"url": alerts.url}})
        assert connection.status_code == 201, connection.text
        workflow = (await http.post("/v1/workflows", json={"name": "limited", "max_triggers_per_day": 10, **QUICK})).json()["data"]
        answers = await asyncio.gather(*(http.post(f"/v1/workflows/{workflow['id']}/trigger", json={}) for _ in range(50)))
        codes = sorted(a.status_code for a in answers)
        # the stats read Temporal's visibility, which lags the starts: read them once it shows them
        query = f"RelayWorkflowId = '{workflow['id']}'"
        for _ in range(100):
            if (await relay.client.count_workflows(query)).count >= 10:
                break
            await asyncio.sleep(0.1)
        detail = (await http.get(f"/v1/workflows/{workflow['id']}")).json()["data"]
        listed = (await http.get("/v1/alerts")).json()
        for _ in range(100):
            if alerts.requests:
                break
            await asyncio.sleep(0.05)
        reenabled = await http.patch(f"/v1/workflows/{workflow['id']}", json={"enabled": True})
        after = await http.post(f"/v1/workflows/{workflow['id']}/trigger", json={})
    assert codes == [201] * 10 + [409] * 40
    assert {a.json()["error"]["code"] for a in answers if a.status_code == 409} == {"workflow_disabled"}
    assert detail["enabled"] is False and detail["disabled_reason"] == "circuit_breaker"
    assert detail["stats"]["total_runs"] == 10
    assert listed["meta"]["total"] == 1
    assert listed["data"][0]["kind"] == "circuit_breaker" and listed["data"][0]["workflow_id"] == workflow["id"]
    assert len(alerts.requests) == 1 and alerts.requests[0].json()["alert"]["kind"] == "circuit_breaker"
    assert reenabled.json()["data"]["enabled"] is True and reenabled.json()["data"]["disabled_reason"] is None
    assert after.status_code == 201


async def test_unlimited_workflows_never_trip(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        workflow = (await http.post("/v1/workflows", json={"name": "free", "max_triggers_per_day": None, **QUICK})).json()["data"]
        answers = await asyncio.gather(*(http.post(f"/v1/workflows/{workflow['id']}/trigger", json={}) for _ in range(15)))
    assert {a.status_code for a in answers} == {201}, [a.text for a in answers if a.status_code != 201][:2]


async def test_an_email_alert_connection_mails_the_trip_through_the_operators_smtp(temporal_env, tmp_path):
    settings = relay_settings(sqlite_url(tmp_path), temporal_env)
    async with SmtpReceiver() as smtp:
        settings = settings.model_copy(update={"smtp_host": smtp.host, "smtp_port": smtp.port,
                                               "smtp_from": "relay@ops.test"})
        async for relay in start_relay(settings, temporal_env.client, with_worker=False):
            _, key = await relay.tenant()
            async with relay.http(key) as http:
                await http.post("/v1/connections", json={"name": "oncall", "type": "alert",
                                                         "config": {"email": "oncall@acme.test"}})
                workflow = (await http.post("/v1/workflows", json={
                    "name": "mailed", "max_triggers_per_day": 1, **QUICK})).json()["data"]
                answers = [await http.post(f"/v1/workflows/{workflow['id']}/trigger", json={}) for _ in range(2)]
                for _ in range(100):
                    if smtp.messages:
                        break
                    await asyncio.sleep(0.05)
                listed = (await http.get("/v1/alerts")).json()["data"]
    assert [a.status_code for a in answers] == [201, 409]
    [mail] = smtp.messages
    assert mail.rcpt_tos == ["oncall@acme.test"] and mail.message["From"] == "relay@ops.test"
    assert mail.message["Subject"] == "Relay alert: circuit_breaker" and "max_triggers_per_day" in mail.message.get_content()
    assert [a["kind"] for a in listed] == ["circuit_breaker"]
