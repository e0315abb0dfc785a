"""POST /v1/events: an event starts exactly the event workflows of its tenant whose pattern,
conditions and trigger_constraints it matches, and the run sees it in its template context."""

from __future__ import annotations

import asyncio

import httpx

from app.services.runs import instance_id_for
from tests.helpers.runs import wait_for_status
from tests.receivers import HttpReceiver


async def event_workflow(http: httpx.AsyncClient, name: str, event: str, *, conditions: list | None = None,
                         constraints: dict | None = None, blocks: list | None = None, **settings) -> str:
    body = {"name": name, "trigger_type": "event",
            "trigger_configuration": {"event": event, "conditions": conditions or []},
            "workflow_blocks": blocks or [], **settings}
    if constraints is not None:
        body["trigger_constraints"] = constraints
    created = await http.post("/v1/workflows", json=body)
    assert created.status_code == 201, created.text
    return created.json()["data"]["id"]


async def post_event(http: httpx.AsyncClient, type_: str, data: dict | None = None, **fields) -> dict:
    answer = await http.post("/v1/events", json={"type": type_, "data": data or {}, **fields})
    assert answer.status_code == 202, answer.text
    return answer.json()["data"]


async def test_names_globs_and_enabled_decide_which_workflows_start(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        exact = await event_workflow(http, "exact", "deal.updated")
        glob = await event_workflow(http, "glob", "deal.*")
        tickets = await event_workflow(http, "tickets", "ticket.created")
        off = await event_workflow(http, "off", "deal.updated", enabled=False)
        everything = await event_workflow(http, "everything", "*.created")

        updated = await post_event(http, "deal.updated", {"name": "Acme"}, entity_id=17)
        created = await post_event(http, "deal.created")
        ticket = await post_event(http, "ticket.created")
        nothing = await post_event(http, "contact.deleted")
        runs = [await wait_for_status(http, i, {"completed"}) for i in updated["instances"]]

    assert updated["matched"] == [exact, glob] and len(updated["instances"]) == 2 and updated["refused"] == []
    assert {run["workflow_id"] for run in runs} == {exact, glob}
    trigger = runs[0]["trigger"]
    assert (trigger["type"], trigger["event"], trigger["entity_id"], trigger["data"]) == \
        ("event", "deal.updated", "17", {"name": "Acme"})
    assert created["matched"] == [glob, everything]
    assert ticket["matched"] == [tickets, everything]
    assert nothing == {"matched": [], "instances": [], "refused": []}
    assert off not in updated["matched"]


async def test_conditions_compare_data_with_previous(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        won = await event_workflow(http, "won", "deal.updated", conditions=[
            {"field": "status", "operator": "changed_to", "value": "won"},
            {"field": "amount", "operator": "greater_than", "value": "100"}])
        became_won = await post_event(http, "deal.updated", {"status": "won", "amount": 500}, previous={"status": "open"})
        stayed_won = await post_event(http, "deal.updated", {"status": "won", "amount": 500}, previous={"status": "won"})
        no_previous = await post_event(http, "deal.updated", {"status": "won", "amount": 500})
        too_small = await post_event(http, "deal.updated", {"status": "won", "amount": 50}, previous={"status": "open"})
    assert became_won["matched"] == [won] and len(became_won["instances"]) == 1
    assert stayed_won["matched"] == [] and too_small["matched"] == []
    assert no_previous["matched"] == [won]  # absent before, won now: it changed to won


async def test_trigger_constraints_see_the_template_context_and_errors_are_false(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        by_alias = await event_workflow(http, "alias", "deal.updated", constraints={">": [{"var": "deal.value"}, 1000]})
        by_trigger = await event_workflow(http, "trigger path", "deal.updated",
                                          constraints={"<=": [{"var": "trigger.data.value"}, 5000]})
        erroring = await event_workflow(http, "divides", "deal.updated",
                                        constraints={"<": [{"/": [1, {"var": "deal.divisor"}]}, 1]})
        big = await post_event(http, "deal.updated", {"value": 9000, "divisor": 0})
        middle = await post_event(http, "deal.updated", {"value": 2000, "divisor": 2})
        small = await post_event(http, "deal.updated", {"value": 10, "divisor": 0})
    assert big["matched"] == [by_alias]  # and the division by zero counted as false
    assert middle["matched"] == [by_alias, by_trigger, erroring]
    assert small["matched"] == [by_trigger]


async def test_another_tenants_workflows_never_match(relay):
    _, mine = await relay.tenant()
    _, theirs = await relay.tenant()
    async with relay.http(mine) as http, relay.http(theirs) as other:
        own = await event_workflow(http, "same name", "deal.updated")
        await event_workflow(other, "same name", "deal.updated")
        await event_workflow(other, "catch all", "*")
        result = await post_event(http, "deal.updated")
    assert result["matched"] == [own]


async def test_api_request_error_shorthand_matches_a_503_on_its_path_only(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        created = await http.post("/v1/workflows", json={
            "name": "api errors", "trigger": {"type": "error", "conditions": {"path": "/api/*"}},
            "actions": [{"type": "webhook", "config": {"url": "https://example.com/alert"}, "order": 1}],
            "isActive": True})
        assert created.status_code == 201, created.text
        workflow_id = created.json()["data"]["id"]

        def request(path: str, status: int) -> dict:
            return {"request": {"method": "GET", "path": path, "headers": {}, "query": {}, "body": None},
                    "response": {"statusCode": status, "headers": {}, "body": None, "size": 0},
                    "timings": {"duration": 12, "responseTime": 10}}

        failing = await post_event(http, "api.request", request("/api/users", 503))
        fine = await post_event(http, "api.request", request("/api/users", 200))
        elsewhere = await post_event(http, "api.request", request("/health", 503))
    assert failing["matched"] == [workflow_id] and len(failing["instances"]) == 1
    assert fine["matched"] == [] and elsewhere["matched"] == []


async def test_an_event_at_depth_8_is_refused_as_a_loop(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        await event_workflow(http, "loop", "deal.updated")
        looping = await http.post("/v1/events", json={"type": "deal.updated"}, headers={"X-Relay-Depth": "8"})
        fine = await http.post("/v1/events", json={"type": "deal.updated"}, headers={"X-Relay-Depth": "7"})
    assert looping.status_code == 400
    assert looping.json()["error"]["code"] == "validation_error" and "loop" in looping.json()["error"]["message"]
    assert fine.status_code == 202 and len(fine.json()["data"]["instances"]) == 1


async def test_the_run_renders_templates_from_the_event(relay):
    _, key = await relay.tenant()
    async with HttpReceiver() as receiver, relay.http(key) as http:
        await event_workflow(http, "announce", "deal.*", blocks=[
            {"$kind": "Action", "id": "tell", "type": "webhook",
             "input": {"url": f"{receiver.url}/won", "body": {"text": "Deal {{deal.name}} won",
                                                               "value": "{{deal.value}}", "id": "{{trigger.entity_id}}"}}}])
        result = await post_event(http, "deal.won", {"name": "Acme", "value": 75000}, entity="deal", entity_id="d-9")
        run = await wait_for_status(http, result["instances"][0], {"completed", "failed"})
    assert run["status"] == "completed", run
    [call] = receiver.requests
    assert call.path == "/won"
    assert call.json() == {"text": "Deal Acme won", "value": 75000, "id": "d-9"}
    assert call.headers["x-relay-depth"] == "1"


async def test_the_breaker_refusal_is_reported_and_the_workflow_then_stops_matching(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        limited = await event_workflow(http, "limited", "deal.updated", max_triggers_per_day=1)
        first = await post_event(http, "deal.updated")
        second = await post_event(http, "deal.updated")
        third = await post_event(http, "deal.updated")
    assert first["matched"] == [limited] and len(first["instances"]) == 1
    assert second["matched"] == [limited] and second["instances"] == []
    assert [(r["workflow_id"], r["code"]) for r in second["refused"]] == [(limited, "workflow_disabled")]
    assert third["matched"] == []


async def test_an_idempotency_key_derives_one_run_id_per_workflow_and_starts_nothing_twice(relay):
    tenant_id, key = await relay.tenant()
    async with relay.http(key) as http:
        one = await event_workflow(http, "one", "deal.updated")
        two = await event_workflow(http, "two", "deal.*")
        headers = {"Idempotency-Key": "evt-123"}
        first = await http.post("/v1/events", json={"type": "deal.updated"}, headers=headers)
        again = await http.post("/v1/events", json={"type": "deal.updated"}, headers=headers)
    # Temporal's visibility lags its starts (the workflow's stats read it): wait until each run
    # shows, then a while longer, so a second run started by the replay would show too
    query = f"RelayTenant = '{tenant_id}' AND RelayWorkflowId = '{{}}'"
    for _ in range(100):
        runs = [(await relay.client.count_workflows(query.format(w))).count for w in (one, two)]
        if min(runs) >= 1:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)
    runs = [(await relay.client.count_workflows(query.format(w))).count for w in (one, two)]
    assert runs == [1, 1]
    assert first.status_code == 202 and again.status_code == 202
    assert again.headers.get("idempotent-replayed") == "true" and again.json()["data"] == first.json()["data"]
    assert first.json()["data"]["instances"] == [instance_id_for(f"{tenant_id}:evt-123:{one}"),
                                                 instance_id_for(f"{tenant_id}:evt-123:{two}")]


async def test_bad_bodies_and_missing_scope_are_refused(relay):
    _, key = await relay.tenant()
    _, reader = await relay.tenant(None, "read:workflows")
    async with relay.http(key) as http, relay.http(reader) as read_only:
        bad = await http.post("/v1/events", json={"type": "deal.*", "data": [1], "previous": "x", "extra": 1})
        missing = await http.post("/v1/events", json={"data": {}})
        forbidden = await read_only.post("/v1/events", json={"type": "deal.updated"})
        camel = await http.post("/v1/events", json={"type": "deal.updated", "entityId": 5, "occurredAt": "2024-01-01T00:00:00Z"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "validation_error"
    assert {d["path"] for d in bad.json()["error"]["details"]} == {"type", "data", "previous", "extra"}
    assert missing.status_code == 400 and [d["path"] for d in missing.json()["error"]["details"]] == ["type"]
    assert forbidden.status_code == 403
    assert camel.status_code == 202, camel.text
