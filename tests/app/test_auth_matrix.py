"""Every /v1 endpoint × every way a caller can lack the right to use it (SPEC §1, §3).

For each endpoint of the app (the matrix below, checked against the app's own route table so a
new endpoint without an entry fails `test_the_matrix_covers_every_v1_endpoint`):
- no key → 401 invalid_key;
- a revoked key (created by POST /v1/keys, then DELETEd) → 401 invalid_key;
- a key of the same tenant holding every scope but the needed one → 403 insufficient_permissions
  naming the scope;
- a key holding the scope but of another tenant, aimed at tenant A's workflow, instance,
  connection or key → 404 not_found; on lists it sees none of A's; creates land in its own tenant.
Embedding (SPEC §3.3): platform endpoints (tenants, a tenant's sessions) answer 403 to any tenant
key; a platform key without Relay-Tenant answers 400 on every tenant endpoint, and acting for
tenant B finds nothing of A (404, empty lists, creates land in B); a key or session of A naming B in
Relay-Tenant or linked_account_id answers 403; a revoked or expired session, and a disabled tenant's
key, answer 401; a session lacking the scope answers 403 naming it, like a key.
After each sweep, everything of tenant A (workflows, versions, instances, connections, keys,
alerts, its session, the tenant itself) reads exactly as before.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.routing import APIRoute
from temporalio.service import RPCError, RPCStatusCode

from app.main import create_app
from app.services.keys import PLATFORM, SCOPES
from tests.helpers.runs import wait_for_status
from workflows.threshold import watcher_id

HOUR_DELAY = [{"$kind": "Block", "type": "delay", "id": "wait", "inputs": {"duration": "1h"}}]
EVENT = f"matrix.{uuid.uuid4().hex[:8]}"
METRIC = f"matrix_{uuid.uuid4().hex[:8]}"
EXCLUDED = {("POST", "/v1/hooks/{token}"),  # its credential is the token, not a key (tests/e2e/test_webhooks.py)
            ("GET", "/v1/approvals/{token}"), ("POST", "/v1/approvals/{token}")}  # the same (test_approvals.py)


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # the route template, exactly as the app declares it
    scope: str
    kind: str = "target"  # "target": aimed at a resource of tenant A; "list"; "create"; "platform" (§3.3)
    body: Any = None
    use: tuple[tuple[str, str], ...] = ()  # path parameter → World attribute, beyond the defaults

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


MATRIX = [
    Endpoint("POST", "/v1/workflows", "write:workflows", "create",
             {"name": "Delayed", "workflow_blocks": HOUR_DELAY}),
    Endpoint("GET", "/v1/workflows", "read:workflows", "list"),
    Endpoint("GET", "/v1/workflows/{workflow_id}", "read:workflows"),
    Endpoint("PATCH", "/v1/workflows/{workflow_id}", "write:workflows", body={"name": "hijacked", "enabled": False}),
    Endpoint("DELETE", "/v1/workflows/{workflow_id}", "write:workflows"),
    Endpoint("GET", "/v1/workflows/{workflow_id}/versions", "read:workflows"),
    Endpoint("GET", "/v1/workflows/{workflow_id}/versions/{number}", "read:workflows"),
    Endpoint("POST", "/v1/workflows/{workflow_id}/publish", "write:workflows", body={"version": 2}),
    Endpoint("POST", "/v1/workflows/{workflow_id}/test", "write:instances", body={"data": {}}),
    Endpoint("POST", "/v1/workflows/{workflow_id}/trigger", "write:instances", body={"data": {}}),
    Endpoint("GET", "/v1/instances", "read:instances", "list"),
    Endpoint("GET", "/v1/instances/{instance_id}", "read:instances"),
    Endpoint("GET", "/v1/instances/{instance_id}/history", "read:instances"),
    Endpoint("POST", "/v1/instances/{instance_id}/retry", "write:instances", body={},
             use=(("instance_id", "failed_instance"),)),
    Endpoint("POST", "/v1/instances/{instance_id}/cancel", "write:instances", body={}),
    Endpoint("POST", "/v1/instances/{instance_id}/events", "write:instances", body={"name": "approved"}),
    Endpoint("POST", "/v1/instances/{instance_id}/approvals/{block_id}", "write:instances",
             body={"decision": "approved"}),
    Endpoint("POST", "/v1/events", "write:events", "create", {"type": EVENT, "data": {"n": 1}}),
    Endpoint("POST", "/v1/metrics", "write:events", "create", {"metric": METRIC, "value": 1000}),
    Endpoint("POST", "/v1/keys", "admin", "create", {"name": "intruder", "scopes": ["admin"]}),
    Endpoint("GET", "/v1/keys", "admin", "list"),
    Endpoint("DELETE", "/v1/keys/{key_id}", "admin"),
    Endpoint("POST", "/v1/connections", "admin", "create",
             {"name": "crm", "type": "http", "secrets": {"bearer_token": "tok-intruder"}}),
    Endpoint("GET", "/v1/connections", "admin", "list"),
    Endpoint("GET", "/v1/connections/{connection_id}", "admin"),
    Endpoint("DELETE", "/v1/connections/{connection_id}", "admin"),
    Endpoint("GET", "/v1/alerts", "read:workflows", "list"),
    Endpoint("GET", "/v1/audit", "admin", "list"),
    # seeds 002's and 003's create paths (app/routers/seed_paths.py; 003's ids are not kept)
    Endpoint("POST", "/v1/public/workflow", "write:workflows", "create", {"name": "Lead Sync", "slug": "hubspot"}),
    Endpoint("POST", "/v1/accounts/{accountSid}/environments/{environmentSid}/buckets/{bucketSid}/workflows",
             "write:workflows", "create", {"name": "Delayed 003", "workflow_blocks": HOUR_DELAY},
             use=(("accountSid", "external_id"), ("environmentSid", "external_id"), ("bucketSid", "external_id"))),
    # seed 004's paths for the same endpoints (app/routers/automations.py)
    Endpoint("GET", "/v1/automations", "read:workflows", "list"),
    Endpoint("POST", "/v1/automations/{workflow_id}/trigger", "write:instances", body={"entityType": "lead"}),
    Endpoint("POST", "/v1/automations/{instance_id}/cancel", "write:instances", body={}),
    # embedding (SPEC §3.3): tenants and their sessions are the platform key's; /v1/sessions a tenant admin's
    Endpoint("POST", "/v1/tenants", PLATFORM, "platform", {"name": "intruder"}),
    Endpoint("GET", "/v1/tenants", PLATFORM, "platform"),
    Endpoint("GET", "/v1/tenants/{tenant_id}", PLATFORM, "platform"),
    Endpoint("PATCH", "/v1/tenants/{tenant_id}", PLATFORM, "platform", {"disabled": True}),
    Endpoint("DELETE", "/v1/tenants/{tenant_id}", PLATFORM, "platform"),
    Endpoint("POST", "/v1/tenants/{tenant_id}/sessions", PLATFORM, "platform", {"scopes": ["read:workflows"]}),
    Endpoint("POST", "/v1/sessions", "admin", "create", {"scopes": ["read:workflows"]}),
    Endpoint("DELETE", "/v1/sessions/{session_id}", "admin"),
]
TENANT_ENDPOINTS = [e for e in MATRIX if e.kind != "platform"]

# Lists are also asked about A's resources by filter: still nothing.
LIST_FILTERS = {
    "/v1/workflows": {"q": "Delayed"},
    "/v1/instances": {"workflow_id": "{workflow_id}"},
    "/v1/alerts": {"workflow_id": "{failing_workflow}"},
    "/v1/connections": {"type": "http"},
}


@dataclass
class World:
    """Tenant A and what it owns; keys to probe with."""

    tenant_id: str
    admin: str
    workflow_id: str  # 1 h delay; v1 active, v2 a draft
    failing_workflow: str  # its one run failed; its second trigger tripped the circuit breaker (an alert)
    event_workflow: str
    threshold_workflow: str
    instance_id: str  # running, in the delay
    failed_instance: str
    temporal_id: str  # the running instance's id inside Temporal
    connection_id: str
    key_id: str  # a spare key of A (target of DELETE /v1/keys/{id})
    revoked: str
    platform: str  # a platform key
    external_id: str  # tenant A's
    session_id: str  # a session of A with every session scope (target of DELETE /v1/sessions/{id})
    session: str  # its token
    revoked_session: str
    disabled_key: str  # an admin key of another tenant, which is disabled
    lacking: dict[str, str] = field(default_factory=dict)  # needed scope → A's key with every other scope
    lacking_session: dict[str, str] = field(default_factory=dict)  # the same, as sessions

    def url(self, endpoint: Endpoint, **replace: str) -> str:
        values = {"workflow_id": self.workflow_id, "instance_id": self.instance_id, "number": "1",
                  "connection_id": self.connection_id, "key_id": self.key_id, "tenant_id": self.tenant_id,
                  "session_id": self.session_id, "block_id": "wait"}
        values.update({name: getattr(self, attr) for name, attr in endpoint.use})
        values.update(replace)
        return endpoint.path.format(**values)

    def owned_ids(self) -> list[str]:
        return [self.tenant_id, self.workflow_id, self.failing_workflow, self.event_workflow,
                self.threshold_workflow, self.instance_id, self.failed_instance, self.temporal_id,
                self.connection_id, self.key_id, self.session_id, self.external_id]


async def call(http, endpoint: Endpoint, url: str, params: dict[str, str] | None = None):
    body = endpoint.body if endpoint.body is not None else ({} if endpoint.method in ("POST", "PATCH") else None)
    return await http.request(endpoint.method, url, json=body, params=params)


def _routes(routes, prefix: str = ""):
    """(method, path) of every API route, also through included routers of any FastAPI version."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:  # FastAPI ≥ 0.16x keeps included routers as branches
            yield from _routes(inner.routes, prefix + route.include_context.prefix)
        elif isinstance(route, APIRoute):
            for method in route.methods - {"HEAD"}:
                yield method, prefix + route.path


def app_endpoints(settings) -> set[tuple[str, str]]:
    app = create_app(settings)
    declared = set(_routes(app.routes))
    for path, item in app.openapi()["paths"].items():
        declared |= {(method.upper(), path) for method in item if method != "parameters"}
    return {(m, p) for m, p in declared if p.startswith("/v1/") or p == "/v1"}


def test_the_matrix_covers_every_v1_endpoint(relay):
    declared = app_endpoints(relay.settings)
    listed = {(e.method, e.path) for e in MATRIX}
    assert len(listed) == len(MATRIX), "an endpoint is listed twice"
    assert declared - EXCLUDED - listed == set(), "endpoints without an entry in the auth matrix"
    assert listed - declared == set(), "matrix entries the app does not have"
    assert {e.scope for e in MATRIX} <= set(SCOPES) | {PLATFORM}


async def _wait(predicate, what: str, timeout: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


@pytest.fixture(scope="module")
async def world(relay):
    tenant_id, admin = await relay.tenant(f"matrix-a-{uuid.uuid4().hex[:8]}", "admin")
    async with relay.http(admin) as http:
        async def post(path: str, body: Any, status: int = 201) -> dict[str, Any]:
            response = await http.post(path, json=body)
            assert response.status_code == status, response.text
            return response.json()["data"]

        workflow = await post("/v1/workflows", {"name": "Delayed", "workflow_blocks": HOUR_DELAY})
        draft = await http.patch(f"/v1/workflows/{workflow['id']}", json={
            "publish": False, "workflow_blocks": [{**HOUR_DELAY[0], "inputs": {"duration": "2h"}}]})
        assert draft.status_code == 200, draft.text
        failing = await post("/v1/workflows", {"name": "Fails", "max_triggers_per_day": 1, "workflow_blocks": [
            {"$kind": "Block", "type": "stop", "id": "halt", "inputs": {"status": "failed", "reason": "by design"}}]})
        event_wf = await post("/v1/workflows", {"name": "On event", "trigger_type": "event",
                                                "trigger_configuration": {"event": EVENT}, "workflow_blocks": HOUR_DELAY})
        threshold_wf = await post("/v1/workflows", {
            "name": "On metric", "trigger_type": "threshold", "workflow_blocks": HOUR_DELAY,
            "trigger_configuration": {"metric": METRIC, "operator": "greater_than", "value": 5,
                                      "time_window": "5m", "aggregate": "avg"}})
        instance = await post(f"/v1/workflows/{workflow['id']}/trigger", {})
        failed = await post(f"/v1/workflows/{failing['id']}/trigger", {})
        tripped = await http.post(f"/v1/workflows/{failing['id']}/trigger", json={})
        assert tripped.status_code == 409 and tripped.json()["error"]["code"] == "workflow_disabled"
        await wait_for_status(http, instance["id"], {"running"})
        assert (await wait_for_status(http, failed["id"], {"failed"}))["status"] == "failed"
        connection = await post("/v1/connections", {"name": "crm", "type": "http", "config": {},
                                                    "secrets": {"bearer_token": "tok-matrix-a"}})
        spare = await post("/v1/keys", {"name": "spare", "scopes": ["read:workflows"]})
        revoked = await post("/v1/keys", {"name": "soon revoked", "scopes": ["admin"]})
        assert (await http.delete(f"/v1/keys/{revoked['id']}")).status_code == 200
        lacking, lacking_session = {}, {}
        for scope in {e.scope for e in MATRIX}:
            others = [s for s in SCOPES if s not in (scope, "admin")]
            lacking[scope] = (await post("/v1/keys", {"name": f"all but {scope}", "scopes": others}))["key"]
            lacking_session[scope] = (await post("/v1/sessions", {"scopes": others}))["token"]
        every = [s for s in SCOPES if s != "admin"]
        session = await post("/v1/sessions", {"scopes": every, "subject": "matrix"})
        revoked_session = await post("/v1/sessions", {"scopes": every})
        assert (await http.delete(f"/v1/sessions/{revoked_session['id']}")).status_code == 200
        platform = await relay.platform_key()
        external_id = f"matrix-ext-{uuid.uuid4().hex[:8]}"
        async with relay.http(platform) as host:
            assert (await host.patch(f"/v1/tenants/{tenant_id}", json={"external_id": external_id})).status_code \
                == 400  # an external id is given at creation only
            gone_id, disabled_key = await relay.tenant()
            assert (await host.patch(f"/v1/tenants/{gone_id}", json={"disabled": True})).status_code == 200
        await _set_external_id(relay, tenant_id, external_id)

        async def settled() -> bool:  # visibility (and the 5 s stats cache) have caught up with both runs
            listed = (await http.get("/v1/instances", params={"limit": 100})).json()["data"]
            one = (await http.get(f"/v1/workflows/{workflow['id']}")).json()["data"]["stats"]
            two = (await http.get(f"/v1/workflows/{failing['id']}")).json()["data"]["stats"]
            return len(listed) == 2 and one["total_runs"] == 1 and two["failure_count"] == 1

        await _wait(settled, "visibility to show tenant A's two runs")
        yield World(tenant_id=tenant_id, admin=admin, workflow_id=workflow["id"], failing_workflow=failing["id"],
                    event_workflow=event_wf["id"], threshold_workflow=threshold_wf["id"],
                    instance_id=instance["id"], failed_instance=failed["id"],
                    temporal_id=instance["temporal"]["workflow_id"], connection_id=connection["id"],
                    key_id=spare["id"], revoked=revoked["key"], platform=platform, external_id=external_id,
                    session_id=session["id"], session=session["token"], revoked_session=revoked_session["token"],
                    disabled_key=disabled_key, lacking=lacking, lacking_session=lacking_session)
        cancelled = await http.post(f"/v1/instances/{instance['id']}/cancel")
        assert cancelled.status_code == 200, cancelled.text


async def _set_external_id(relay, tenant_id: str, external_id: str) -> None:
    from app.db.tables import Tenant

    async with relay.sessions() as session:
        row = await session.get(Tenant, tenant_id)
        row.external_id = external_id
        session.add(row)
        await session.commit()


async def snapshot(relay, world: World) -> dict[str, Any]:
    """What tenant A reads about everything it owns (request ids left out)."""
    paths = [
        "/v1/workflows?limit=100", f"/v1/workflows/{world.workflow_id}", f"/v1/workflows/{world.workflow_id}/versions",
        f"/v1/workflows/{world.failing_workflow}", f"/v1/workflows/{world.event_workflow}",
        f"/v1/instances/{world.instance_id}", f"/v1/instances/{world.instance_id}/history",
        f"/v1/instances/{world.failed_instance}", "/v1/instances?limit=100",
        "/v1/connections", f"/v1/connections/{world.connection_id}", "/v1/keys?limit=100", "/v1/alerts",
    ]
    seen: dict[str, Any] = {}
    async with relay.http(world.admin) as http:
        for path in paths:
            response = await http.get(path)
            assert response.status_code == 200, (path, response.text)
            body = response.json()
            body["meta"].pop("request_id")
            seen[path] = body
    async with relay.http(world.session) as http:
        seen["session"] = (await http.get("/v1/workflows?limit=100")).json()["data"]
    async with relay.http(world.platform) as http:
        seen["tenant"] = (await http.get(f"/v1/tenants/{world.tenant_id}")).json()["data"]
    try:
        await relay.client.get_workflow_handle(watcher_id(world.tenant_id, world.threshold_workflow)).describe()
        seen["threshold watcher"] = "started"
    except RPCError as error:  # not started: recorded as such; any other error fails
        assert error.status == RPCStatusCode.NOT_FOUND  # noqa: PT017 - either outcome is recorded, not expected
        seen["threshold watcher"] = "none"
    return seen


def _leaks(world: World, text: str) -> list[str]:
    return [owned for owned in world.owned_ids() if owned in text]


def _error(response) -> tuple[int, str, str]:
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return response.status_code, "", response.text[:200]
    return response.status_code, error.get("code", ""), error.get("message", "")


async def _sweep(relay, world: World, probe) -> None:
    """Run `probe(endpoint) -> list of problems` over the matrix; A must read the same afterwards."""
    before = await snapshot(relay, world)
    problems: list[str] = []
    for endpoint in MATRIX:
        problems += [f"{endpoint}: {p}" for p in await probe(endpoint)]
    await asyncio.sleep(0.5)  # a run started by mistake would be visible by now
    after = await snapshot(relay, world)
    changed = [path for path in before if before[path] != after[path]]
    assert problems == [], "\n".join(problems)
    assert changed == [], {path: (before[path], after[path]) for path in changed}


async def test_without_a_key_every_endpoint_answers_401(relay, world):
    async def probe(endpoint: Endpoint) -> list[str]:
        async with relay.http() as http:
            status, code, message = _error(await call(http, endpoint, world.url(endpoint)))
        return [] if (status, code) == (401, "invalid_key") else [f"{status} {code} {message}"]

    await _sweep(relay, world, probe)


@pytest.mark.parametrize("credential", ["revoked", "revoked_session", "disabled_key"])
async def test_a_revoked_key_or_session_or_a_disabled_tenants_key_answers_401_everywhere(relay, world, credential):
    async def probe(endpoint: Endpoint) -> list[str]:
        async with relay.http(getattr(world, credential)) as http:
            response = await call(http, endpoint, world.url(endpoint))
        status, code, message = _error(response)
        problems = [] if (status, code) == (401, "invalid_key") else [f"{status} {code} {message}"]
        return problems + [f"leaks {owned}" for owned in _leaks(world, response.text)]

    await _sweep(relay, world, probe)


@pytest.mark.parametrize("as_session", [False, True], ids=["key", "session"])
async def test_a_key_without_the_scope_answers_403_naming_it(relay, world, as_session):
    async def probe(endpoint: Endpoint) -> list[str]:
        async with relay.http((world.lacking_session if as_session else world.lacking)[endpoint.scope]) as http:
            response = await call(http, endpoint, world.url(endpoint))
        status, code, message = _error(response)
        if (status, code) != (403, "insufficient_permissions") or endpoint.scope not in message:
            return [f"{status} {code} {message} (needs {endpoint.scope})"]
        return [f"leaks {owned}" for owned in _leaks(world, response.text)]

    await _sweep(relay, world, probe)


async def test_another_tenants_key_with_the_scope_finds_nothing_of_tenant_a(relay, world):
    async def probe(endpoint: Endpoint) -> list[str]:
        if endpoint.kind == "platform":  # no tenant key may manage tenants, however many scopes it has
            _, key = await relay.tenant(None, "admin")
            async with relay.http(key) as http:
                response = await call(http, endpoint, world.url(endpoint))
            status, code, message = _error(response)
            return [] if (status, code) == (403, "insufficient_permissions") else [f"{status} {code} {message}"]
        _, key = await relay.tenant(None, endpoint.scope)  # a fresh tenant B, one key: the needed scope
        async with relay.http(key) as http:
            if endpoint.kind == "target":
                return await _target(http, endpoint)
            if endpoint.kind == "list":
                return await _list(http, endpoint, own_keys=1 if endpoint.path == "/v1/keys" else 0)
            return await _create(http, endpoint)

    async def _target(http, endpoint: Endpoint) -> list[str]:
        urls = [world.url(endpoint)]
        if "{instance_id}" in endpoint.path:  # A's run under its Temporal id too
            urls.append(world.url(endpoint, instance_id=world.temporal_id))
        problems = []
        for url in urls:
            response = await call(http, endpoint, url)
            status, code, message = _error(response)
            # "<what> not found" from the handler, not a 404 of routing ("not found")
            if (status, code) != (404, "not_found") or message == "not found":
                problems.append(f"{url}: {status} {code} {message}")
            problems += [f"{url}: leaks {owned}" for owned in _leaks(world, response.text)]
        return problems

    async def _list(http, endpoint: Endpoint, own_keys: int) -> list[str]:
        problems = []
        filters = {k: v.format(workflow_id=world.workflow_id, failing_workflow=world.failing_workflow)
                   for k, v in LIST_FILTERS.get(endpoint.path, {}).items()}
        for params in ({}, filters) if filters else ({},):
            response = await call(http, endpoint, endpoint.path, params=params)
            if response.status_code != 200:
                problems.append(f"{params}: {response.status_code} {response.text[:200]}")
                continue
            body = response.json()
            if len(body["data"]) != own_keys or body["meta"].get("total", own_keys) != own_keys:
                problems.append(f"{params}: sees {body['meta'].get('total')} items: {body['data']}")
            problems += [f"{params}: leaks {owned}" for owned in _leaks(world, response.text)]
        return problems

    async def _create(http, endpoint: Endpoint) -> list[str]:
        response = await call(http, endpoint, endpoint.path)
        if response.status_code not in (201, 202):  # in B's own tenant: A's names do not collide
            return [f"{response.status_code} {response.text[:300]}"]
        data = response.json()["data"]
        problems = [f"leaks {owned}" for owned in _leaks(world, response.text)]
        if endpoint.path in ("/v1/events", "/v1/metrics") and data.get("matched"):
            problems.append(f"matched tenant A's workflows: {json.dumps(data)}")
        if endpoint.path == "/v1/events" and data.get("instances"):
            problems.append(f"started runs: {data['instances']}")
        return problems

    await _sweep(relay, world, probe)


async def test_a_platform_key_without_relay_tenant_answers_400_on_every_tenant_endpoint(relay, world):
    async def probe(endpoint: Endpoint) -> list[str]:
        if endpoint.kind == "platform" or endpoint.path == "/v1/sessions/{session_id}":
            return []  # the platform key's own (it may revoke any tenant's session)
        async with relay.http(world.platform) as http:
            response = await call(http, endpoint, world.url(endpoint))
        status, code, message = _error(response)
        problems = [] if (status, code) == (400, "validation_error") and "Relay-Tenant" in message else [
            f"{status} {code} {message}"]
        return problems + [f"leaks {owned}" for owned in _leaks(world, response.text)]

    await _sweep(relay, world, probe)


@pytest.mark.parametrize("credential, header", [("admin", "Relay-Tenant"), ("session", "linked_account_id"),
                                                ("admin", "linked-account-id")])
async def test_a_tenant_key_or_session_naming_another_tenant_answers_403(relay, world, credential, header):
    other_id, _ = await relay.tenant()

    async def probe(endpoint: Endpoint) -> list[str]:
        async with relay.http(getattr(world, credential)) as http:
            http.headers[header] = other_id
            response = await call(http, endpoint, world.url(endpoint))
        status, code, message = _error(response)
        problems = [] if (status, code) == (403, "insufficient_permissions") else [f"{status} {code} {message}"]
        return problems + [f"leaks {owned}" for owned in _leaks(world, response.text)]

    await _sweep(relay, world, probe)


async def test_a_tenant_key_naming_its_own_tenant_by_id_or_external_id_is_served(relay, world):
    for named in (world.tenant_id, world.external_id):
        async with relay.http(world.session) as http:
            response = await http.get(f"/v1/workflows/{world.workflow_id}", headers={"Relay-Tenant": named})
        assert response.status_code == 200, response.text


@pytest.mark.parametrize("header", ["Relay-Tenant", "linked_account_id"])
async def test_a_platform_key_acting_for_another_tenant_finds_nothing_of_tenant_a(relay, world, header):
    other_id, _ = await relay.tenant()

    async def probe(endpoint: Endpoint) -> list[str]:
        if endpoint.kind == "platform":
            return []  # not a tenant endpoint: Relay-Tenant plays no part
        async with relay.http(world.platform) as http:
            http.headers[header] = other_id
            if endpoint.kind == "target":
                response = await call(http, endpoint, world.url(endpoint))
                status, code, message = _error(response)
                if (status, code) != (404, "not_found") or message == "not found":
                    return [f"{status} {code} {message}"]
                return [f"leaks {owned}" for owned in _leaks(world, response.text)]
            response = await call(http, endpoint, endpoint.path)
            if response.status_code not in (200, 201, 202):
                return [f"{response.status_code} {response.text[:300]}"]
            problems = [f"leaks {owned}" for owned in _leaks(world, response.text)]
            data = response.json()["data"]
            # lists show only B's own (what the create probes made in B): no id of A's (`_leaks`)
            if endpoint.path == "/v1/events" and data.get("instances"):
                problems.append(f"started runs: {data['instances']}")
            return problems

    await _sweep(relay, world, probe)
