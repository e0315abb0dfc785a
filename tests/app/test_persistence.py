"""The persistence layer on SQLite and on PostgreSQL (RELAY_TEST_DATABASE_URL): migrations from
empty, then the API over each database with a real run."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import inspect

from app.db.migrate import migrate
from app.db.session import make_engine
from tests.helpers.relay import relay_settings, start_relay
from tests.helpers.runs import wait_for_status

RELAY = str(Path(sys.executable).parent / "relay")


async def test_migrations_create_every_table_from_empty(database_url):
    await asyncio.to_thread(migrate, database_url)
    await asyncio.to_thread(migrate, database_url)  # a second run is a no-op
    engine = make_engine(database_url)
    async with engine.connect() as connection:
        tables = set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
    await engine.dispose()
    assert {"tenants", "api_keys", "workflows", "workflow_versions", "connections", "idempotency_keys",
            "alembic_version"} <= tables


async def test_the_api_runs_a_workflow_on_this_database(database_url, temporal_env):
    settings = relay_settings(database_url, temporal_env)
    async for relay in start_relay(settings, temporal_env.client):
        _, key = await relay.tenant()
        async with relay.http(key) as http:
            body = {"name": "persisted", "workflow_blocks": [
                {"$kind": "Block", "type": "delay", "id": "d", "inputs": {"duration": "0s"}}],
                "workflow_editor_state": {"nodes": [{"id": "d"}]}}
            created = await http.post("/v1/workflows", json=body)
            duplicate = await http.post("/v1/workflows", json=body)
            races = await asyncio.gather(*(http.post("/v1/workflows", json={**body, "name": "raced"}) for _ in range(5)))
            workflow_id = created.json()["data"]["id"]
            started = await http.post(f"/v1/workflows/{workflow_id}/trigger", json={"data": {"x": 1}})
            assert started.status_code == 201, started.text
            done = await wait_for_status(http, started.json()["data"]["id"], {"completed", "failed"})
            fetched = (await http.get(f"/v1/workflows/{workflow_id}")).json()["data"]
            enabled = (await http.get("/v1/workflows", params={"enabled": "true", "trigger_type": "manual"})).json()
    assert created.status_code == 201
    assert duplicate.status_code == 409
    assert sorted(r.status_code for r in races) == [201, 409, 409, 409, 409]
    assert done["status"] == "completed" and done["trigger"]["data"] == {"x": 1}
    assert fetched["workflow_editor_state"] == {"nodes": [{"id": "d"}]}
    assert fetched["stats"]["total_runs"] == 1 and fetched["stats"]["success_count"] == 1
    assert enabled["meta"]["total"] == 2


def test_relay_keys_create_prints_the_key_on_the_last_line(database_url):
    env = {**os.environ, "RELAY_ENV": "test", "RELAY_DATABASE_URL": database_url}
    result = subprocess.run([RELAY, "keys", "create", "--tenant", "cli-co", "--scope", "read:workflows",
                             "--scope", "write:instances"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("rly_")
    refused = subprocess.run([RELAY, "keys", "create", "--tenant", "cli-co", "--scope", "everything"],
                             env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "unknown scope" in refused.stderr


def test_relay_refuses_to_start_without_a_secret_key_outside_dev(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
    env["RELAY_DATABASE_URL"] = f"sqlite:///{tmp_path / 'r.db'}"
    result = subprocess.run([RELAY, "migrate"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "RELAY_SECRET_KEY" in result.stderr


async def test_racing_default_connections_leave_exactly_one_default(database_url, temporal_env):
    settings = relay_settings(database_url, temporal_env)
    async for relay in start_relay(settings, temporal_env.client):
        _, key = await relay.tenant()
        async with relay.http(key) as http:
            answers = await asyncio.gather(*(http.post("/v1/connections", json={
                "name": f"mail {n}", "type": "smtp", "default": True,
                "config": {"host": "smtp.example.com", "port": 25}}) for n in range(10)))
            listed = (await http.get("/v1/connections", params={"type": "smtp", "limit": 100})).json()["data"]
    assert [a.status_code for a in answers] == [201] * 10, [a.text for a in answers if a.status_code != 201]
    assert len(listed) == 10 and sum(c["default"] for c in listed) == 1


async def test_nul_characters_are_refused_not_a_500_on_this_database(database_url, temporal_env):
    # Second look at issue 13: PostgreSQL text cannot hold U+0000, so a NUL in a stored string was a 500 there.
    settings = relay_settings(database_url, temporal_env)
    async for relay in start_relay(settings, temporal_env.client, with_worker=False):
        _, key = await relay.tenant()
        async with relay.http(key) as http:
            delay = [{"$kind": "Block", "type": "delay", "id": "d", "inputs": {"duration": "0s"}}]
            answers = {
                "description": await http.post("/v1/workflows", json={
                    "name": "nul-description", "description": "a\u0000b", "workflow_blocks": delay}),
                "workflow_editor_state.note": await http.post("/v1/workflows", json={
                    "name": "nul-editor", "workflow_editor_state": {"note": "a\u0000b"}, "workflow_blocks": delay}),
                "workflow_blocks.0.inputs.duration": await http.post("/v1/workflows", json={
                    "name": "nul-definition", "workflow_blocks": [{**delay[0], "inputs": {"duration": "0s\u0000"}}]}),
                "config.base_url": await http.post("/v1/connections", json={
                    "name": "nul-config", "type": "http", "config": {"base_url": "https://example.com/a\u0000"}}),
                "trigger_configuration.event": await http.post("/v1/workflows", json={
                    "name": "nul-event", "trigger_type": "event", "trigger_configuration": {"event": "deal.\u0000"},
                    "workflow_blocks": delay}),
            }
            plain = await http.post("/v1/workflows", json={"name": "plain", "workflow_blocks": delay})
            answers["description "] = await http.patch(f"/v1/workflows/{plain.json()['data']['id']}",
                                                       json={"description": "\u0000"})
            secret = await http.post("/v1/connections", json={"name": "nul-secret", "type": "secret",
                                                              "secrets": {"value": "a\u0000b"}})
            assert secret.status_code == 201, secret.text  # encrypted at rest: a NUL in a secret is kept, not refused
    for path, answer in answers.items():
        assert answer.status_code == 400, (path, answer.text)
        assert any(d["path"] == path.strip() for d in answer.json()["error"]["details"]), answer.text
    described = next(d for d in answers["description"].json()["error"]["details"] if d["path"] == "description")
    assert described["value"] == "a\\u0000b"  # the offending value, its NUL written out


async def test_nul_in_a_query_filter_is_not_a_500_on_this_database(database_url, temporal_env):
    settings = relay_settings(database_url, temporal_env)
    async for relay in start_relay(settings, temporal_env.client, with_worker=False):
        _, key = await relay.tenant()
        async with relay.http(key) as http:
            answers = {path: await http.get(path) for path in (
                "/v1/workflows?q=a%00", "/v1/workflows?trigger_type=%00", "/v1/connections?type=%00",
                "/v1/alerts?workflow_id=%00", "/v1/workflows/wf_%00", "/v1/connections/conn_%00",
                "/v1/workflows/wf_%00/versions")}
            answers["POST /v1/hooks/%00"] = await http.post("/v1/hooks/%00", json={})  # no key needed
    assert {path: answer.status_code for path, answer in answers.items() if answer.status_code >= 500} == {}
    assert {answer.json()["error"]["code"] for answer in answers.values()} == {"validation_error"}


async def test_embedding_tables_on_this_database(database_url, temporal_env):
    """Migration 0006 (SPEC §3.3) on SQLite and PostgreSQL: a platform key (no tenant), tenants with a
    unique external_id and quotas, a session token; a tenant deleted with all it owns."""
    settings = relay_settings(database_url, temporal_env)
    async for relay in start_relay(settings, temporal_env.client, with_worker=False):
        platform = await relay.platform_key()
        async with relay.http(platform) as host:
            created = await host.post("/v1/tenants", json={"name": "pg co", "external_id": "pg-1",
                                                           "quotas": {"max_workflows": 3}})
            taken = await host.post("/v1/tenants", json={"name": "pg co 2", "external_id": "pg-1"})
            tenant = created.json()["data"]
            as_tenant = {"Relay-Tenant": "pg-1"}
            workflow = await host.post("/v1/workflows", headers=as_tenant, json={"name": "w", "workflow_blocks": [
                {"$kind": "Block", "type": "delay", "id": "d", "inputs": {"duration": "0s"}}]})
            connection = await host.post("/v1/connections", headers=as_tenant, json={
                "name": "c", "type": "secret", "secrets": {"value": "v"}})
            session = await host.post(f"/v1/tenants/{tenant['id']}/sessions", json={"scopes": ["read:workflows"]})
            async with relay.http(session.json()["data"]["token"]) as browser:
                seen = await browser.get("/v1/workflows")
            deleted = await host.delete(f"/v1/tenants/{tenant['id']}")
            after = await host.get("/v1/tenants", params={"external_id": "pg-1"})
    assert created.status_code == 201 and tenant["quotas"]["max_workflows"] == 3
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "duplicate_name"
    assert workflow.status_code == 201 and connection.status_code == 201, (workflow.text, connection.text)
    assert session.status_code == 201 and seen.status_code == 200 and len(seen.json()["data"]) == 1
    assert deleted.status_code == 202 and after.json()["data"] == []


def test_relay_keys_create_platform_prints_a_platform_key(database_url):
    env = {**os.environ, "RELAY_ENV": "test", "RELAY_DATABASE_URL": database_url}
    result = subprocess.run([RELAY, "keys", "create", "--platform", "--name", "crm-backend"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("rly_")
    mixed = subprocess.run([RELAY, "keys", "create", "--platform", "--tenant", "x", "--name", "n"], env=env,
                           capture_output=True, text=True, timeout=60)
    assert mixed.returncode != 0 and "--platform" in mixed.stderr
