"""A host product embeds Relay (SPEC §3.3, issue 16): through the real API, database and Temporal.

A platform key provisions two tenants by external id, builds a workflow in each by acting for it
(Relay-Tenant and linked_account_id), and mints a read-only session for one: the session sees its
tenant's workflow, cannot write, cannot see or name the other tenant, and answers 401 after revoke
and after expiry. A disabled tenant's keys and sessions answer 401 and its triggers start nothing;
a deleted tenant's running instance ends cancelled in Temporal.
"""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from temporalio.client import WorkflowExecutionStatus

from activities.models import AdmitInput
from app.main import create_app
from app.services.admission import admit
from tests.helpers.relay import relay_settings, sqlite_url, start_relay
from tests.helpers.runs import wait_for_status

HOUR_DELAY = [{"$kind": "Block", "type": "delay", "id": "wait", "inputs": {"duration": "1h"}}]


def _code(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json().get("error", {}).get("code", "")


async def _tenant(http: httpx.AsyncClient, name: str, external_id: str, **extra) -> dict:
    created = await http.post("/v1/tenants", json={"name": name, "external_id": external_id, **extra})
    assert created.status_code == 201, created.text
    return created.json()["data"]


@pytest.fixture
def ext() -> str:
    return uuid.uuid4().hex[:8]


async def test_a_host_product_provisions_tenants_and_hands_out_sessions(relay, ext):
    platform = await relay.platform_key()
    async with relay.http(platform) as host:
        a = await _tenant(host, f"Acme {ext}", f"crm-acct-{ext}-a", quotas={"max_workflows": 10})
        b = await _tenant(host, f"Globex {ext}", f"crm-acct-{ext}-b")
        assert a["id"].startswith("ten_") and a["disabled"] is False
        assert a["quotas"] == {"max_running_instances": None, "max_runs_per_day": None, "max_workflows": 10}
        assert _code(await host.post("/v1/tenants", json={"name": f"x {ext}", "external_id": a["external_id"]})) \
            == (409, "duplicate_name")
        found = (await host.get("/v1/tenants", params={"external_id": b["external_id"]})).json()
        assert [t["id"] for t in found["data"]] == [b["id"]] and found["meta"]["total"] == 1

        # acting for each tenant: by external id (Relay-Tenant) and by id (linked_account_id)
        wf_a = await host.post("/v1/workflows", json={"name": "Onboarding", "workflow_blocks": HOUR_DELAY},
                               headers={"Relay-Tenant": a["external_id"]})
        wf_b = await host.post("/v1/workflows", json={"name": "Onboarding", "workflow_blocks": HOUR_DELAY},
                               headers={"linked_account_id": b["id"]})
        assert wf_a.status_code == 201 and wf_b.status_code == 201, (wf_a.text, wf_b.text)
        wf_a, wf_b = wf_a.json()["data"], wf_b.json()["data"]
        assert _code(await host.get("/v1/workflows")) == (400, "validation_error")  # whose workflows?
        assert _code(await host.get("/v1/workflows", headers={"Relay-Tenant": "no-such-tenant"})) \
            == (400, "validation_error")
        both = {"Relay-Tenant": a["id"], "linked_account_id": b["id"]}
        assert _code(await host.get("/v1/workflows", headers=both)) == (400, "validation_error")
        listed = (await host.get("/v1/workflows", headers={"Relay-Tenant": b["external_id"]})).json()["data"]
        assert [w["id"] for w in listed] == [wf_b["id"]]

        minted = await host.post(f"/v1/tenants/{a['id']}/sessions", json={
            "scopes": ["read:workflows", "read:instances"], "ttl": "1h", "subject": "user-42"})
        assert minted.status_code == 201, minted.text
        read_only = minted.json()["data"]
        assert read_only["id"].startswith("ses_") and read_only["token"].startswith("rst_")
        assert read_only["subject"] == "user-42" and read_only["scopes"] == ["read:instances", "read:workflows"]
        for refused in ({"scopes": ["admin"]}, {"scopes": ["platform"]}, {"scopes": ["read:workflows"], "ttl": "25h"},
                        {"scopes": ["read:workflows"], "ttl": "soon"}):
            assert _code(await host.post(f"/v1/tenants/{a['id']}/sessions", json=refused)) == (400, "validation_error")
        for ttl in (86401, 0, True, 3600.5, "25h"):  # named `ttl` whichever form was sent
            refusal = await host.post(f"/v1/tenants/{a['id']}/sessions", json={"scopes": ["read:workflows"], "ttl": ttl})
            assert _code(refusal) == (400, "validation_error")
            assert {d["path"] for d in refusal.json()["error"]["details"]} == {"ttl"}, (ttl, refusal.text)
            assert refusal.json()["error"]["details"][0]["message"].count("got") <= 1, refusal.text

    token = read_only["token"]
    async with httpx.AsyncClient(base_url=relay.url, headers={"x-api-key": token}) as browser:
        seen = await browser.get("/v1/workflows")
        assert seen.status_code == 200 and [w["id"] for w in seen.json()["data"]] == [wf_a["id"]]
        assert (await browser.get(f"/v1/workflows/{wf_a['id']}")).status_code == 200
        assert _code(await browser.post("/v1/workflows", json={"name": "nope"})) == (403, "insufficient_permissions")
        assert _code(await browser.post(f"/v1/workflows/{wf_a['id']}/trigger", json={})) \
            == (403, "insufficient_permissions")
        assert _code(await browser.post("/v1/sessions", json={"scopes": ["read:workflows"]})) \
            == (403, "insufficient_permissions")
        assert _code(await browser.get(f"/v1/workflows/{wf_b['id']}")) == (404, "not_found")
        assert _code(await browser.get("/v1/workflows", headers={"Relay-Tenant": b["external_id"]})) \
            == (403, "insufficient_permissions")
        assert (await browser.get("/v1/workflows", headers={"Relay-Tenant": a["external_id"]})).status_code == 200
        assert _code(await browser.get("/v1/tenants")) == (403, "insufficient_permissions")
    async with relay.http(token) as bearer:  # Authorization: Bearer works for a session as for a key
        assert (await bearer.get("/v1/workflows")).status_code == 200

    async with relay.http(platform) as host:
        assert (await host.delete(f"/v1/sessions/{read_only['id']}")).status_code == 200
        short = (await host.post(f"/v1/tenants/{a['id']}/sessions", json={"scopes": ["read:workflows"],
                                                                          "ttl": "1s"})).json()["data"]
    async with relay.http(token) as revoked, relay.http(short["token"]) as expiring:
        assert _code(await revoked.get("/v1/workflows")) == (401, "invalid_key")
        assert (await expiring.get("/v1/workflows")).status_code == 200
        await asyncio.sleep(1.2)
        assert _code(await expiring.get("/v1/workflows")) == (401, "invalid_key")


async def test_a_tenant_admin_key_mints_and_revokes_its_own_sessions(relay, ext):
    platform = await relay.platform_key()
    async with relay.http(platform) as host:
        a = await _tenant(host, f"Initech {ext}", f"acct-{ext}-a")
        b = await _tenant(host, f"Umbrella {ext}", f"acct-{ext}-b")
        made = await host.post("/v1/keys", json={"name": "backend", "scopes": ["admin"]},
                               headers={"Relay-Tenant": a["external_id"]})
        assert made.status_code == 201, made.text
        other = (await host.post(f"/v1/tenants/{b['id']}/sessions", json={"scopes": ["read:workflows"]})).json()["data"]
    async with relay.http(made.json()["data"]["key"]) as admin:
        minted = await admin.post("/v1/sessions", json={"scopes": ["write:events"], "subject": "svc"})
        assert minted.status_code == 201, minted.text
        session = minted.json()["data"]
        assert session["tenant_id"] == a["id"]
        assert _code(await admin.post("/v1/sessions", json={"scopes": ["read:workflows"]},
                                      headers={"Relay-Tenant": b["id"]})) == (403, "insufficient_permissions")
        assert _code(await admin.delete(f"/v1/sessions/{other['id']}")) == (404, "not_found")  # B's
        assert _code(await admin.post(f"/v1/tenants/{a['id']}/sessions", json={"scopes": ["read:workflows"]})) \
            == (403, "insufficient_permissions")
        assert (await admin.delete(f"/v1/sessions/{session['id']}")).status_code == 200
    async with relay.http(session["token"]) as gone:
        assert _code(await gone.post("/v1/events", json={"type": "x.y"})) == (401, "invalid_key")


async def test_a_disabled_tenant_answers_401_and_its_triggers_start_nothing(relay, ext):
    platform = await relay.platform_key()
    async with relay.http(platform) as host:
        a = await _tenant(host, f"Hooli {ext}", f"hooli-{ext}")
        as_a = {"Relay-Tenant": a["id"]}
        key = (await host.post("/v1/keys", json={"name": "k", "scopes": ["admin"]}, headers=as_a)).json()["data"]["key"]
        token = (await host.post(f"/v1/tenants/{a['id']}/sessions",
                                 json={"scopes": ["read:workflows"]})).json()["data"]["token"]
        hook = (await host.post("/v1/workflows", headers=as_a, json={
            "name": "Hooked", "trigger_type": "webhook", "workflow_blocks": HOUR_DELAY})).json()["data"]
        manual = (await host.post("/v1/workflows", headers=as_a, json={
            "name": "Manual", "workflow_blocks": HOUR_DELAY})).json()["data"]
        disabled = await host.patch(f"/v1/tenants/{a['id']}", json={"disabled": True})
        assert disabled.status_code == 200 and disabled.json()["data"]["disabled"] is True

        for credential in (key, token):
            async with relay.http(credential) as http:
                assert _code(await http.get("/v1/workflows")) == (401, "invalid_key")
        async with httpx.AsyncClient() as outsider:
            assert _code(await outsider.post(hook["webhook_url"], json={"n": 1})) == (409, "workflow_disabled")
        assert _code(await host.post(f"/v1/workflows/{manual['id']}/trigger", json={}, headers=as_a)) \
            == (409, "workflow_disabled")
        event_wf = (await host.post("/v1/workflows", headers=as_a, json={
            "name": "On deal", "trigger_type": "event", "trigger_configuration": {"event": f"deal.{ext}"},
            "workflow_blocks": HOUR_DELAY})).json()["data"]
        fanned = (await host.post("/v1/events", headers=as_a, json={"type": f"deal.{ext}"})).json()["data"]
        assert fanned["instances"] == [] and [r["workflow_id"] for r in fanned["refused"]] == [event_wf["id"]]
        scheduled = await admit(relay.sessions, relay.client, relay.settings,
                                AdmitInput(tenant_id=a["id"], workflow_id=manual["id"]))
        assert not scheduled.allowed and "tenant is disabled" in scheduled.reason
        instances = await host.get("/v1/instances", headers=as_a)
        assert instances.status_code == 200 and instances.json()["data"] == []  # nothing started

        assert (await host.patch(f"/v1/tenants/{a['id']}", json={"disabled": False})).status_code == 200
        async with relay.http(key) as http:
            assert (await http.get("/v1/workflows")).status_code == 200
        async with httpx.AsyncClient() as outsider:
            assert (await outsider.post(hook["webhook_url"], json={"n": 1})).status_code == 202
        await host.delete(f"/v1/tenants/{a['id']}")


async def test_deleting_a_tenant_cancels_its_runs_and_removes_everything(relay, ext):
    platform = await relay.platform_key()
    async with relay.http(platform) as host:
        a = await _tenant(host, f"Stark {ext}", f"stark-{ext}")
        as_a = {"Relay-Tenant": a["external_id"]}
        key = (await host.post("/v1/keys", json={"name": "k", "scopes": ["admin"]}, headers=as_a)).json()["data"]["key"]
        workflow = (await host.post("/v1/workflows", headers=as_a, json={
            "name": "Long", "workflow_blocks": HOUR_DELAY})).json()["data"]
        scheduled = await host.post("/v1/workflows", headers=as_a, json={
            "name": "Nightly", "trigger_type": "schedule", "trigger_configuration": {"cron": "0 3 * * *"},
            "workflow_blocks": HOUR_DELAY})
        assert scheduled.status_code == 201, scheduled.text
        run = (await host.post(f"/v1/workflows/{workflow['id']}/trigger", json={}, headers=as_a)).json()["data"]
        async with relay.http(key) as http:
            await wait_for_status(http, run["id"], {"running"})

        deleted = await host.delete(f"/v1/tenants/{a['id']}")
        assert deleted.status_code == 202, deleted.text
        assert deleted.json()["data"]["cancelled_instances"] == 1
        assert _code(await host.get(f"/v1/tenants/{a['id']}")) == (404, "not_found")
        assert _code(await host.get("/v1/workflows", headers=as_a)) == (400, "validation_error")
    handle = relay.client.get_workflow_handle(run["temporal"]["workflow_id"])
    for _ in range(100):
        if (await handle.describe()).status == WorkflowExecutionStatus.CANCELED:
            break
        await asyncio.sleep(0.1)
    assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED
    schedules = [s.id async for s in await relay.client.list_schedules()]
    assert not [sid for sid in schedules if a["id"] in sid]
    async with relay.http(key) as http:
        assert _code(await http.get("/v1/workflows")) == (401, "invalid_key")


async def test_tenant_updates_and_refusals(relay, ext):
    platform = await relay.platform_key()
    _, tenant_key = await relay.tenant()
    async with relay.http(tenant_key) as tenant:
        assert _code(await tenant.get("/v1/tenants")) == (403, "insufficient_permissions")
        assert _code(await tenant.post("/v1/tenants", json={"name": "mine"})) == (403, "insufficient_permissions")
    async with relay.http(platform) as host:
        a = await _tenant(host, f"Wayne {ext}", f"wayne-{ext}")
        changed = await host.patch(f"/v1/tenants/{a['id']}", json={"name": f"Wayne Ent {ext}",
                                                                  "quotas": {"max_runs_per_day": 500}})
        assert changed.status_code == 200, changed.text
        assert changed.json()["data"]["name"] == f"Wayne Ent {ext}"
        again = await host.patch(f"/v1/tenants/{a['id']}", json={"quotas": {"max_workflows": None,
                                                                            "max_running_instances": 3}})
        assert again.json()["data"]["quotas"] == {"max_running_instances": 3, "max_runs_per_day": 500,
                                                  "max_workflows": None}
        bad = await host.patch(f"/v1/tenants/{a['id']}", json={"quotas": {"max_widgets": 1}})
        assert _code(bad) == (400, "validation_error") and bad.json()["error"]["details"][0]["path"] == \
            "quotas.max_widgets"
        assert _code(await host.patch(f"/v1/tenants/{a['id']}", json={"quotas": {"max_workflows": -1}})) \
            == (400, "validation_error")
        assert _code(await host.post("/v1/tenants", json={"name": "x", "plan": "gold"})) == (400, "validation_error")
        # JSON's own types only: a client bug that sends "yes" or "5" must not disable a tenant or set a quota
        for body, path in [({"disabled": "yes"}, "disabled"), ({"disabled": 0}, "disabled"),
                           ({"quotas": {"max_workflows": "5"}}, "quotas.max_workflows"),
                           ({"quotas": {"max_runs_per_day": 2.0}}, "quotas.max_runs_per_day")]:
            loose = await host.patch(f"/v1/tenants/{a['id']}", json=body)
            assert _code(loose) == (400, "validation_error"), (body, loose.text)
            assert loose.json()["error"]["details"][0]["path"] == path, loose.text
        assert _code(await host.post("/v1/tenants", json={"name": f"Loose {ext}", "quotas": {"max_workflows": "1"}})) \
            == (400, "validation_error")
        unchanged = (await host.get(f"/v1/tenants/{a['id']}")).json()["data"]
        assert unchanged["disabled"] is False and unchanged["quotas"]["max_workflows"] is None, unchanged
        other = await _tenant(host, f"Other {ext}", f"other-{ext}")
        renamed = await host.patch(f"/v1/tenants/{other['id']}", json={"name": f"Wayne Ent {ext}"})
        assert _code(renamed) == (409, "duplicate_name") and renamed.json()["error"]["details"][0]["path"] == "name"
        named = await host.post("/v1/tenants", json={"name": f"Wayne Ent {ext}"})
        assert _code(named) == (409, "duplicate_name") and named.json()["error"]["details"][0]["path"] == "name"
        await host.delete(f"/v1/tenants/{other['id']}")
        assert _code(await host.get("/v1/tenants/ten_nope")) == (404, "not_found")
        page = (await host.get("/v1/tenants", params={"limit": 1})).json()
        assert len(page["data"]) == 1 and page["meta"]["limit"] == 1 and page["meta"]["total"] >= 1
        await host.delete(f"/v1/tenants/{a['id']}")


async def test_tenant_quotas_reads_the_stored_quotas_over_the_defaults(relay, ext):
    from app.services.tenants import tenant_quotas

    platform = await relay.platform_key()
    async with relay.http(platform) as host:
        a = await _tenant(host, f"Quota {ext}", f"quota-{ext}", quotas={"max_workflows": 2})
    async with relay.sessions() as session:
        defaults = {"max_running_instances": 5, "max_runs_per_day": 100, "max_workflows": 50}
        assert await tenant_quotas(session, tenant_id=a["id"], defaults=defaults) == {
            "max_running_instances": 5, "max_runs_per_day": 100, "max_workflows": 2}
        assert await tenant_quotas(session, tenant_id=a["id"]) == {
            "max_running_instances": None, "max_runs_per_day": None, "max_workflows": 2}


async def test_cors_lets_the_configured_origins_call_the_api(relay):
    settings = relay.settings.model_copy(update={"cors_origins": "https://app.example.com, https://b.example.com"})
    transport = httpx.ASGITransport(app=create_app(settings, temporal=relay.client))
    async with httpx.AsyncClient(transport=transport, base_url="http://relay") as http:
        preflight = await http.options("/v1/workflows", headers={
            "Origin": "https://app.example.com", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-api-key, relay-tenant, idempotency-key, content-type"})
        assert preflight.status_code == 200, preflight.text
        assert preflight.headers["access-control-allow-origin"] == "https://app.example.com"
        allowed = preflight.headers["access-control-allow-headers"].lower()
        assert {"x-api-key", "relay-tenant", "linked_account_id", "idempotency-key", "authorization"} <= {
            h.strip() for h in allowed.split(",")}
        assert preflight.headers["x-request-id"].startswith("req_")  # SPEC §3: every response carries one
        stranger = await http.options("/v1/workflows", headers={
            "Origin": "https://evil.example.com", "Access-Control-Request-Method": "GET", "X-Request-ID": "pre-1"})
        assert "access-control-allow-origin" not in stranger.headers
        # refused as everything else is: the error envelope naming what is not allowed, and the request id
        assert _code(stranger) == (400, "validation_error") and stranger.headers["x-request-id"] == "pre-1"
        assert stranger.json()["meta"]["request_id"] == "pre-1"
        assert stranger.json()["error"]["details"] == [
            {"path": "header.origin", "message": "origin not allowed: 'https://evil.example.com'"}]
        odd = await http.options("/v1/workflows", headers={
            "Origin": "https://app.example.com", "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "content-type, x-secret-sauce"})
        assert [d["path"] for d in odd.json()["error"]["details"]] == [
            "header.access-control-request-method", "header.access-control-request-headers"]
        assert "'x-secret-sauce'" in odd.json()["error"]["details"][1]["message"]
        simple = await http.get("/healthz", headers={"Origin": "https://b.example.com"})
        assert simple.headers["access-control-allow-origin"] == "https://b.example.com"
        assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()
        assert "x-ratelimit-remaining" in simple.headers["access-control-expose-headers"].lower()


async def test_a_platform_key_is_rate_limited_per_tenant_it_acts_for(temporal_env, tmp_path):
    settings = relay_settings(sqlite_url(tmp_path), temporal_env, rate_limit="3/minute")
    async for small in start_relay(settings, temporal_env.client, with_worker=False):
        platform = await small.platform_key()
        async with small.http(platform) as host:
            a = await _tenant(host, "A", "rate-a")
            b = await _tenant(host, "B", "rate-b")
            answers = [(await host.get("/v1/workflows", headers={"Relay-Tenant": a["id"]})).status_code
                       for _ in range(4)]
            assert answers == [200, 200, 200, 429]
            other = await host.get("/v1/workflows", headers={"Relay-Tenant": b["external_id"]})
            assert other.status_code == 200 and other.headers["x-ratelimit-remaining"] == "2"


async def test_a_platform_keys_idempotency_keys_are_per_tenant_it_acts_for(relay, ext):
    platform = await relay.platform_key()
    async with relay.http(platform) as host:
        a = await _tenant(host, f"Idem A {ext}", f"idem-a-{ext}")
        b = await _tenant(host, f"Idem B {ext}", f"idem-b-{ext}")
        body, key = {"name": "Same", "workflow_blocks": HOUR_DELAY}, {"Idempotency-Key": f"create-{ext}"}
        first = await host.post("/v1/workflows", json=body, headers={**key, "Relay-Tenant": a["id"]})
        again = await host.post("/v1/workflows", json=body, headers={**key, "Relay-Tenant": a["id"]})
        other = await host.post("/v1/workflows", json=body, headers={**key, "Relay-Tenant": b["id"]})
        assert first.status_code == again.status_code == other.status_code == 201, other.text
        assert again.headers.get("idempotent-replayed") == "true" and again.json() == first.json()
        assert other.json()["data"]["id"] != first.json()["data"]["id"]
        listed = await host.get("/v1/workflows", headers={"Relay-Tenant": b["id"]})
        assert [w["id"] for w in listed.json()["data"]] == [other.json()["data"]["id"]]


def test_a_session_never_gets_more_than_its_creator_nor_lives_over_a_day():
    from datetime import timedelta

    from app.services.errors import Forbidden, InvalidInput
    from app.services.keys import Principal
    from app.services.sessions import checked_scopes, ttl_of

    reader = Principal(tenant_id="ten_x", key_id="key_x", scopes=frozenset({"read:workflows"}))
    assert checked_scopes(["read:workflows"], reader) == ["read:workflows"]
    with pytest.raises(Forbidden):
        checked_scopes(["read:workflows", "write:events"], reader)
    with pytest.raises(InvalidInput):
        checked_scopes(["admin"], Principal(tenant_id="ten_x", key_id="key_x", scopes=frozenset({"admin"})))
    assert ttl_of(None) == timedelta(hours=1) and ttl_of("24h") == timedelta(hours=24) and ttl_of(90) == timedelta(
        seconds=90)
    for bad in ("24h1s", "0s", "-1h", "soon", 0, "9" * 39, "99999999999999999999999999h"):
        with pytest.raises(InvalidInput):
            ttl_of(bad)


async def test_embedding_answers_fit_their_declared_models(relay, ext):
    from app import views
    from app.embedding_views import SessionCreated, TenantDeleted, TenantView

    platform = await relay.platform_key()
    async with relay.http(platform) as host:
        document = (await host.get("/openapi.json")).json()

        async def call(method: str, url: str, path: str, model, status: int = 200, **kwargs):
            answer = await host.request(method, url, **kwargs)
            assert answer.status_code == status, answer.text
            model.model_validate(answer.json())
            content = document["paths"][path][method.lower()]["responses"][str(status)]["content"]
            assert content["application/json"]["schema"]["$ref"].endswith("/" + model.__name__), (method, path)
            return answer.json()["data"]

        one = "/v1/tenants/{tenant_id}"
        tenant = await call("POST", "/v1/tenants", "/v1/tenants", views.one(TenantView), 201,
                            json={"name": f"Views {ext}", "external_id": f"views-{ext}"})
        await call("GET", "/v1/tenants", "/v1/tenants", views.page(TenantView))
        await call("GET", f"/v1/tenants/{tenant['id']}", one, views.one(TenantView))
        await call("PATCH", f"/v1/tenants/{tenant['id']}", one, views.one(TenantView), json={"disabled": False})
        minted = await call("POST", f"/v1/tenants/{tenant['id']}/sessions", one + "/sessions",
                            views.one(SessionCreated), 201, json={"scopes": ["read:workflows"]})
        await call("POST", "/v1/sessions", "/v1/sessions", views.one(SessionCreated), 201,
                   json={"scopes": ["read:workflows"]}, headers={"Relay-Tenant": tenant["id"]})
        await call("DELETE", f"/v1/sessions/{minted['id']}", "/v1/sessions/{session_id}", views.one(views.Deleted))
        await call("DELETE", f"/v1/tenants/{tenant['id']}", one, views.one(TenantDeleted), 202)


async def test_a_disabled_tenants_schedule_fires_in_temporal_and_starts_nothing(relay, ext):
    from tests.e2e.test_schedules import _at_least, calling, eventually, scheduled_runs
    from tests.receivers import HttpReceiver

    platform = await relay.platform_key()
    async with HttpReceiver() as receiver, relay.http(platform) as host:
        a = await _tenant(host, f"Cron {ext}", f"cron-{ext}")
        as_a = {"Relay-Tenant": a["id"]}
        assert (await host.patch(f"/v1/tenants/{a['id']}", json={"disabled": True})).status_code == 200
        created = await host.post("/v1/workflows", headers=as_a, json={
            "name": "every second", "trigger_type": "schedule", "trigger_configuration": {"interval": "1s"},
            "workflow_blocks": calling(receiver.url)})
        assert created.status_code == 201, created.text
        workflow_id = created.json()["data"]["id"]
        fired = await eventually(lambda: _at_least(scheduled_runs(relay, workflow_id), 2))
        assert fired, "the Temporal schedule fires while the tenant is disabled"
        await asyncio.sleep(1.0)
        assert receiver.requests == [], "a disabled tenant's scheduled run did its work"
        assert (await host.patch(f"/v1/tenants/{a['id']}", json={"disabled": False})).status_code == 200
        assert await eventually(lambda: _nonempty(receiver.requests)), "re-enabled: the schedule's runs work again"
        await host.delete(f"/v1/tenants/{a['id']}")


async def _nonempty(items: list) -> bool:
    return bool(items)


async def test_an_empty_relay_tenant_names_no_tenant(relay):
    platform = await relay.platform_key()
    _, key = await relay.tenant()
    async with relay.http(key) as tenant, relay.http(platform) as host:
        assert (await tenant.get("/v1/workflows", headers={"Relay-Tenant": ""})).status_code == 200
        refused = await host.get("/v1/workflows", headers={"Relay-Tenant": ""})
    assert _code(refused) == (400, "validation_error") and "send Relay-Tenant" in refused.json()["error"]["message"]
