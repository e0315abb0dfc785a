"""Seed 003 (API-traffic workflows, ../shared/seeds/003_*.txt): its requests as written, through
the real API, the real Temporal dev server and real local receivers (docs/seeds.md, 003).

Only the host, the /v1 prefix (Relay's /v1/workflows for the document's
/v1/accounts/{accountSid}/environments/{environmentSid}/buckets/{bucketSid}/workflows), the key and
receiver URLs differ from the document. One run per distinct path: one POST /v1/metrics fires the
four threshold examples, two api.request events fire the request and error examples."""

from __future__ import annotations

import asyncio
import uuid

from app.services.schedules import schedule_id
from tests.helpers.runs import wait_for_status
from tests.receivers import HttpReceiver, SmtpReceiver


def create_example(slack_url: str) -> dict:
    """The Create Workflow request (its cURL, Node.js and Python bodies are the same)."""
    return {
        "name": "Error Alert Workflow",
        "description": "Send Slack notification when error rate exceeds 5%",
        "trigger": {"type": "threshold", "conditions": [
            {"metric": "error_rate", "operator": "greater_than", "value": 5, "timeWindow": "5m"}]},
        "actions": [{"type": "slack", "config": {"webhook_url": slack_url, "channel": "#alerts",
                                                 "message": "🚨 Error rate exceeded 5% in {{bucket.name}}"}, "order": 1}],
        "isActive": True,
    }


HIGH_ERROR_RATE = {
    "name": "High Error Rate Alert",
    "trigger": {"type": "threshold", "conditions": [
        {"metric": "error_rate", "operator": "greater_than", "value": 10, "timeWindow": "5m"}]},
    "actions": [{"type": "slack", "config": {"message": "🚨 Error rate is {{metric.value}}% in {{bucket.name}}"}}],
}
SLOW_RESPONSE = {
    "name": "Slow Response Alert",
    "trigger": {"type": "threshold", "conditions": [
        {"metric": "avg_response_time", "operator": "greater_than", "value": 2000, "timeWindow": "10m"}]},
    "actions": [{"type": "email", "config": {"subject": "Slow API Performance Alert",
                                             "body": "Average response time is {{metric.value}}ms"}}],
}
THRESHOLD_TRIGGER = {"type": "threshold", "conditions": [
    {"metric": "response_time", "operator": "greater_than", "value": 1000, "timeWindow": "5m"}]}
REQUEST_TRIGGER = {"type": "request", "conditions": [{"path": "/api/users", "method": "POST", "statusCode": 201}]}
ERROR_TRIGGER = {"type": "error", "conditions": [{"statusCode": 500, "path": "/api/*"}]}
EMAIL_ACTION = {"type": "email", "config": {"to": ["admin@example.com"], "subject": "API Alert: {{trigger.type}}",
                                            "body": "An alert was triggered in bucket {{bucket.name}}"}}
DAILY_SUMMARY = {
    "name": "Daily Summary Report",
    "trigger": {"type": "schedule", "schedule": "0 9 * * *"},
    "actions": [{"type": "email", "config": {"subject": "Daily API Summary for {{bucket.name}}",
                                             "body": "Your daily API traffic summary is ready."}}],
}
# Every variable of the document's Template Variables lists but the metric ones (a threshold run's).
VARIABLES = ["request.method", "request.path", "request.headers", "request.body", "request.query",
             "response.statusCode", "response.headers", "response.body", "response.size",
             "timings.duration", "timings.responseTime", "bucket.name", "bucket.sid", "account.name",
             "environment.name"]


def webhook_action(url: str) -> dict:
    return {"type": "webhook", "config": {"url": url, "method": "POST", "headers": {"Authorization": "Bearer token"},
                                          "body": {"message": "Alert from ApiTraffic", "data": "{{request.body}}"}}}


def slack_action(url: str) -> dict:
    return {"type": "slack", "config": {"webhook_url": url, "channel": "#alerts", "message": "🚨 {{trigger.message}}",
                                        "username": "ApiTraffic Bot"}}


def activepieces_action(url: str) -> dict:
    return {"type": "activepieces", "config": {"flow_id": "flow_abc123", "webhook_url": url,
                                               "data": {"request": "{{request}}", "response": "{{response}}"}}}


def new_user_registration(url: str) -> dict:
    return {"name": "New User Registration", "trigger": REQUEST_TRIGGER, "actions": [
        {"type": "webhook", "config": {"url": url, "body": {"event": "user_registered",
                                                             "user_data": "{{request.body}}"}}}]}


def api_request(path: str, method: str, status: int) -> dict:
    """An api.request event (SPEC §2.2) from a traffic monitor, with its bucket and environment."""
    return {"type": "api.request", "data": {
        "request": {"method": method, "path": path, "headers": {"user-agent": "curl/8"}, "query": {"ref": "ad"},
                    "body": {"email": "ada@example.com"}},
        "response": {"statusCode": status, "headers": {"content-type": "application/json"},
                     "body": {"id": 42}, "size": 9},
        "timings": {"duration": 31, "responseTime": 27},
        "bucket": {"name": "prod-api", "sid": "bkt_xyz789uvw012rst345abc"},
        "environment": {"name": "production", "sid": "env123"}}}


# the document's own create path (its ids are accepted and not kept: the key decides the tenant)
SEED_PATH = "/v1/accounts/acc_abc123def456ghi789jkl012/environments/env123/buckets/bkt_xyz789uvw012rst345abc/workflows"


async def create(http, body: dict) -> dict:
    created = await http.post(SEED_PATH, json=body)
    assert created.status_code == 201, created.text
    return created.json()["data"]


async def finished_run(http, workflow_id: str, timeout: float = 30) -> dict:
    """The one run of a workflow, once it has ended (instance lists come from Temporal visibility)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        listed = (await http.get("/v1/instances", params={"workflow_id": workflow_id})).json()["data"]
        if listed:
            return await wait_for_status(http, listed[0]["id"], {"completed", "failed"})
        assert asyncio.get_running_loop().time() < deadline, f"no run of {workflow_id}"
        await asyncio.sleep(0.2)


async def connect(http, smtp: SmtpReceiver, slack_url: str) -> None:
    """The tenant's defaults that the document's actions without a target use."""
    for body in ({"name": "mail", "type": "smtp", "default": True,
                  "config": {"host": smtp.host, "port": smtp.port, "starttls": False, "from": "relay@acme.test"}},
                 {"name": "ops", "type": "alert", "default": True, "config": {"email": "ops@acme.test"}},
                 {"name": "slack", "type": "slack", "default": True, "secrets": {"webhook_url": slack_url}}):
        answer = await http.post("/v1/connections", json=body)
        assert answer.status_code == 201, answer.text


async def test_the_threshold_examples_fire_on_their_metrics_and_render_the_metric_variables(relay):
    tenant = f"Acme APIs {uuid.uuid4().hex[:6]}"
    _, key = await relay.tenant(tenant)
    async with HttpReceiver() as receiver, SmtpReceiver() as smtp, relay.http(key) as http:
        await connect(http, smtp, f"{receiver.url}/default-slack")
        created = await create(http, create_example(f"{receiver.url}/slack"))
        high = await create(http, HIGH_ERROR_RATE)
        slow = await create(http, SLOW_RESPONSE)
        metric = await create(http, {"name": "metric variables", "trigger": THRESHOLD_TRIGGER, "actions": [
            {"type": "webhook", "config": {"url": f"{receiver.url}/metric", "body": {
                "text": "{{metric.value}} > {{metric.threshold}} over {{metric.timeWindow}} for {{account.name}}"}}}]})
        points = await http.post("/v1/metrics", json=[{"metric": "error_rate", "value": 12.5},
                                                      {"metric": "avg_response_time", "value": 2500.5},
                                                      {"metric": "response_time", "value": 1500.5}])
        assert points.status_code == 202, points.text
        runs = [await finished_run(http, w["id"]) for w in (created, high, slow, metric)]
    assert created["name"] == "Error Alert Workflow" and created["enabled"] is True and created["created_at"]
    assert created["description"] == "Send Slack notification when error rate exceeds 5%"
    assert (created["trigger_type"], created["trigger_configuration"]) == ("threshold", {
        "metric": "error_rate", "operator": "greater_than", "value": 5, "time_window": "5m", "aggregate": "avg"})
    assert created["workflow_blocks"][0]["input"] == {
        "webhook_url": f"{receiver.url}/slack", "channel": "slack", "recipient": "#alerts",
        "message": "🚨 Error rate exceeded 5% in {{bucket.name}}"}
    assert slow["trigger_configuration"]["time_window"] == "10m"
    assert [run["status"] for run in runs] == ["completed"] * 4
    by_path = {r.path: r.json() for r in receiver.requests}
    # a threshold run's data is the metric, so {{bucket.name}} is empty there (docs/seeds.md)
    assert by_path["/slack"] == {"text": "🚨 Error rate exceeded 5% in ", "channel": "#alerts"}
    assert by_path["/default-slack"]["text"] == "🚨 Error rate is 12.5% in "
    assert by_path["/metric"] == {"text": f"1500.5 > 1000 over 5m for {tenant}"}
    [mail] = smtp.messages
    assert mail.rcpt_tos == ["ops@acme.test"] and mail.message["Subject"] == "Slow API Performance Alert"
    assert mail.message.get_content().strip() == "Average response time is 2500.5ms"


async def test_request_and_error_examples_match_their_condition_objects_and_render_every_variable(relay):
    tenant = f"Acme APIs {uuid.uuid4().hex[:6]}"
    _, key = await relay.tenant(tenant)
    async with HttpReceiver() as receiver, SmtpReceiver() as smtp, relay.http(key) as http:
        await connect(http, smtp, f"{receiver.url}/default-slack")
        registration = await create(http, new_user_registration(f"{receiver.url}/crm"))
        variables = await create(http, {"name": "every variable", "trigger": REQUEST_TRIGGER, "actions": [
            {**webhook_action(f"{receiver.url}/webhook"), "order": 1},
            {"type": "webhook", "config": {"url": f"{receiver.url}/variables",
                                           "body": {name: "{{" + name + "}}" for name in VARIABLES}}, "order": 2},
            {**slack_action(f"{receiver.url}/slack"), "order": 3},
            {**activepieces_action(f"{receiver.url}/activepieces"), "order": 4}]})
        errors = await create(http, {"name": "errors", "trigger": ERROR_TRIGGER, "actions": [EMAIL_ACTION]})
        legacy = await create(http, {"name": "field form", "trigger": {"type": "request", "conditions": [
            {"key": "path", "value": "/api/*"}, {"field": "method", "operator": "equals", "value": "POST"}]},
            "actions": [{"type": "webhook", "config": {"url": f"{receiver.url}/legacy"}}]})

        created_user = (await http.post("/v1/events", json=api_request("/api/users", "POST", 201))).json()["data"]
        failed = (await http.post("/v1/events", json=api_request("/api/orders", "GET", 500))).json()["data"]
        refused = (await http.post("/v1/events", json=api_request("/api/users", "POST", 400))).json()["data"]
        runs = [await finished_run(http, w["id"]) for w in (registration, variables, errors)]
    assert created_user["matched"] == [registration["id"], variables["id"], legacy["id"]]
    assert failed["matched"] == [errors["id"]] and refused["matched"] == [legacy["id"]]
    assert registration["trigger_configuration"] == {"event": "api.request", "conditions": [
        {"field": "request.path", "operator": "equals", "value": "/api/users"},
        {"field": "request.method", "operator": "equals", "value": "POST"},
        {"field": "response.statusCode", "operator": "equals", "value": 201}]}
    assert [run["status"] for run in runs] == ["completed"] * 3
    by_path = {r.path: r for r in receiver.requests}
    assert by_path["/crm"].json() == {"event": "user_registered", "user_data": {"email": "ada@example.com"}}
    assert by_path["/webhook"].json() == {"message": "Alert from ApiTraffic", "data": {"email": "ada@example.com"}}
    assert by_path["/webhook"].headers["authorization"] == "Bearer token"
    event = api_request("/api/users", "POST", 201)["data"]
    assert by_path["/variables"].json() == {
        "request.method": "POST", "request.path": "/api/users", "request.headers": {"user-agent": "curl/8"},
        "request.body": {"email": "ada@example.com"}, "request.query": {"ref": "ad"},
        "response.statusCode": 201, "response.headers": {"content-type": "application/json"},
        "response.body": {"id": 42}, "response.size": 9, "timings.duration": 31, "timings.responseTime": 27,
        "bucket.name": "prod-api", "bucket.sid": "bkt_xyz789uvw012rst345abc", "account.name": tenant,
        "environment.name": "production"}
    assert by_path["/slack"].json() == {"text": "🚨 ", "channel": "#alerts", "username": "ApiTraffic Bot"}
    assert by_path["/activepieces"].json() == {"request": event["request"], "response": event["response"]}
    assert by_path["/activepieces"].headers["x-activepieces-flow-id"] == "flow_abc123"
    [mail] = smtp.messages
    assert mail.rcpt_tos == ["admin@example.com"] and mail.message["Subject"] == "API Alert: event"
    assert mail.message.get_content().strip() == "An alert was triggered in bucket prod-api"


async def test_the_schedule_examples_make_their_temporal_schedules(relay):
    tenant_id, key = await relay.tenant()
    async with relay.http(key) as http:
        daily = await create(http, DAILY_SUMMARY)
        weekdays = await create(http, {"name": "weekdays", "trigger": {"type": "schedule", "schedule": "0 9 * * MON-FRI"},
                                       "actions": DAILY_SUMMARY["actions"]})
        described = [await relay.client.get_schedule_handle(schedule_id(tenant_id, w["id"])).describe()
                     for w in (daily, weekdays)]
        for workflow in (daily, weekdays):
            await http.delete(f"/v1/workflows/{workflow['id']}")
    assert daily["trigger_configuration"] == {"cron": "0 9 * * *", "timezone": "UTC"}
    assert daily["workflow_blocks"][0]["input"] == {"subject": "Daily API Summary for {{bucket.name}}",
                                                    "body": "Your daily API traffic summary is ready."}
    [every_day], [on_weekdays] = (d.schedule.spec.calendars for d in described)
    assert [r.start for r in every_day.hour] == [9] and [r.start for r in on_weekdays.hour] == [9]
    assert [(r.start, r.end) for r in on_weekdays.day_of_week] == [(1, 5)]


async def test_threshold_and_condition_mistakes_are_refused_naming_the_value(relay):
    _, key = await relay.tenant()
    action = [{"type": "slack", "config": {"message": "x"}}]
    bodies = {
        "trigger.conditions": {"type": "threshold", "conditions": [
            {"metric": "error_rate", "value": 5}, {"metric": "latency", "value": 9}]},
        "trigger.conditions.0.window": {"type": "threshold", "conditions": [
            {"metric": "error_rate", "value": 5, "window": "5m"}]},
        "trigger.metric": {"type": "threshold", "metric": "error_rate", "value": 5,
                           "conditions": [{"metric": "error_rate", "value": 5}]},
        "trigger.conditions.0": {"type": "request", "conditions": ["/api/users"]},
    }
    async with relay.http(key) as http:
        answers = {path: await http.post("/v1/workflows", json={"name": path, "trigger": trigger, "actions": action})
                   for path, trigger in bodies.items()}
    for path, answer in answers.items():
        assert answer.status_code == 400 and answer.json()["error"]["code"] == "validation_error", answer.text
        assert [d["path"] for d in answer.json()["error"]["details"]] == [path]
    assert "'/api/users'" in answers["trigger.conditions.0"].json()["error"]["details"][0]["message"]


def test_account_comes_from_the_event_data_when_it_carries_one():
    from workflows.context import base_context
    from workflows.definition import Definition
    from workflows.models import RunInput, TriggerInfo

    def context(data: dict) -> dict:
        run = RunInput(tenant_id="ten_a", tenant_name="Acme APIs", instance_id="inst_a", workflow_id="wf_a",
                       workflow_name="a", version=1, definition=Definition(name="a"),
                       trigger=TriggerInfo(type="event", event="api.request", data=data))
        return base_context(run, "2026-01-01T00:00:00Z")

    assert context({})["account"] == {"id": "ten_a", "name": "Acme APIs"}
    assert context({"account": {"name": "Globex"}})["account"] == {"name": "Globex"}


async def test_mistakes_in_the_documents_examples_are_named_at_the_documents_own_paths(relay):
    """A problem found once the body is canonical is reported where the 003 body wrote it
    (`trigger.conditions.0.timeWindow`, `actions.1.config.message`, `isActive`), not at the
    canonical path (`trigger_configuration.time_window`, `workflow_blocks.0.input.message`)."""
    _, key = await relay.tenant()
    window = create_example("https://hooks.example.com/slack")
    window["trigger"]["conditions"][0]["timeWindow"] = "5 minutes"
    active = {**create_example("https://hooks.example.com/slack"), "isActive": "yes"}
    cron = {**DAILY_SUMMARY, "trigger": {"type": "schedule", "schedule": "every day"}}
    ordered = {**HIGH_ERROR_RATE, "actions": [  # order 2 runs second: its block is workflow_blocks.1
        {"type": "slack", "config": {"channel": "#alerts"}, "order": 2},
        {"type": "email", "config": {"subject": "s", "body": "b"}, "order": 1}]}
    error = {"name": "errors", "trigger": {"type": "error", "conditions": [
        {"path": "/api/*", "statusCode": 500}, {"field": "response.size", "operator": "above", "value": 9}]},
        "actions": [EMAIL_ACTION]}
    async with relay.http(key) as http:
        answers = [await http.post("/v1/workflows", json=body) for body in (window, active, cron, ordered, error)]
    for answer in answers:
        assert answer.status_code == 400 and answer.json()["error"]["code"] == "validation_error", answer.text
    paths = [[d["path"] for d in answer.json()["error"]["details"]] for answer in answers]
    assert paths == [["trigger.conditions.0.timeWindow"], ["isActive"], ["trigger.schedule"],
                     ["actions.0.config.message"], ["trigger.conditions.1.operator"]]
    assert "'5 minutes'" in answers[0].json()["error"]["details"][0]["message"]
    assert "'every day'" in answers[2].json()["error"]["details"][0]["message"]


async def test_a_patch_in_the_documents_form_is_answered_at_its_own_paths(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        workflow = await create(http, {**HIGH_ERROR_RATE, "name": "to edit"})
        active = await http.patch(f"/v1/workflows/{workflow['id']}", json={"isActive": "yes"})
        window = await http.patch(f"/v1/workflows/{workflow['id']}", json={"trigger": {
            "type": "threshold", "conditions": [{"metric": "error_rate", "value": 10, "timeWindow": "soon"}]},
            "actions": HIGH_ERROR_RATE["actions"]})
    assert [d["path"] for d in active.json()["error"]["details"]] == ["isActive"]
    assert [d["path"] for d in window.json()["error"]["details"]] == ["trigger.conditions.0.timeWindow"]


def test_a_condition_objects_key_is_named_itself():
    """Each key of `{"path": …, "method": …}` is one canonical condition: its problems name the key;
    an error trigger's added status check is the trigger's type."""
    from app.services.definitions import CAMEL
    from workflows.shorthand import TOP_ALIASES
    from workflows.source_paths import as_written, source_paths

    body = {"name": "x", "trigger": {"type": "error", "conditions": [{"path": "/api/*", "method": "POST"}]},
            "actions": [{"type": "slack", "config": {"channel": "#alerts", "message": "m"}}]}
    pairs = source_paths(body, {**CAMEL, **TOP_ALIASES})
    assert [as_written(path, pairs) for path in (
        "trigger_configuration.conditions.0.value", "trigger_configuration.conditions.1",
        "trigger_configuration.conditions.2.value", "workflow_blocks.0.input.recipient", "name")] == [
        "trigger.type", "trigger.conditions.0.path", "trigger.conditions.0.method", "actions.0.config.channel", "name"]
