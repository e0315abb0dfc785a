"""Canary secrets (SPEC §1 Connection, §5): each secret is a unique string used in real runs,
successful and failing, and then looked for everywhere it must never be: every log line
(stdlib logging at DEBUG, structlog's output, the process's stdout/stderr), every API response,
every error message and the whole Temporal history of every run of the tenant (payloads decoded).

Canaries: an SMTP username and password (an aiosmtpd server that requires AUTH), a bearer token
(http connection), an API key sent as a header (http connection `headers`), a `{{secrets.X}}`
value (secret connection), and the tenant's Relay API key itself.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from relay_common import signing
from tests.helpers.histories import tenant_histories
from tests.helpers.runs import wait_for_status
from tests.receivers import HttpReceiver, SmtpReceiver, _Handler

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


def canary(kind: str) -> str:
    return f"cnry-{kind}-{uuid.uuid4().hex}"


class AuthSmtpReceiver(SmtpReceiver):
    """The recording SMTP server of tests/receivers.py, requiring AUTH (allowed without TLS on loopback)."""

    def __init__(self, username: str, password: str) -> None:
        super().__init__()
        self.logins: list[tuple[str, bool]] = []

        def authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
            ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
                username.encode(), password.encode())
            self.logins.append((auth_data.login.decode() if isinstance(auth_data, LoginPassword) else "?", ok))
            return AuthResult(success=ok, handled=False)  # aiosmtpd answers 235 or 535 itself

        self._controller = Controller(_Handler(self), hostname=self.host, port=self.port, authenticator=authenticator,
                                      auth_required=True, auth_require_tls=False)


def found_in(canaries: dict[str, str], where: str, text: str) -> list[str]:
    return [f"{kind} in {where}" for kind, value in canaries.items() if value in text]


async def test_canary_secrets_never_leave_the_outside_systems(loud_relay, captured_logs, capfd):
    relay = loud_relay
    tenant_id, api_key = await relay.tenant(None, "admin")
    canaries = {"smtp username": canary("smtpuser"), "smtp password": canary("smtppw"),
                "bad smtp password": canary("smtpbad"), "bearer token": canary("bearer"),
                "connection api key": canary("apikey"), "secrets.X value": canary("secret"),
                "relay api key": api_key}
    responses: list[tuple[str, str]] = []

    async def record(response: httpx.Response) -> None:
        await response.aread()
        responses.append((f"{response.request.method} {response.request.url.path}", response.text))

    smtp = AuthSmtpReceiver(canaries["smtp username"], canaries["smtp password"])
    async with smtp, HttpReceiver() as accepting, HttpReceiver() as refusing, httpx.AsyncClient(
            base_url=relay.url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30,
            event_hooks={"response": [record]}) as http:

        async def create(path: str, body: dict[str, Any]) -> dict[str, Any]:
            created = await http.post(path, json=body)
            assert created.status_code == 201, created.text
            return created.json()["data"]

        smtp_config = {"host": smtp.host, "port": smtp.port, "starttls": False, "from": "robot@acme.test"}
        connections = [
            await create("/v1/connections", {"name": "mailer", "type": "smtp", "config": smtp_config, "secrets": {
                "username": canaries["smtp username"], "password": canaries["smtp password"]}}),
            await create("/v1/connections", {"name": "bad-mailer", "type": "smtp", "config": smtp_config, "secrets": {
                "username": canaries["smtp username"], "password": canaries["bad smtp password"]}}),
            await create("/v1/connections", {"name": "crm", "type": "http",
                                             "secrets": {"bearer_token": canaries["bearer token"]}}),
            await create("/v1/connections", {"name": "erp", "type": "http",
                                             "secrets": {"headers": {"X-Api-Key": canaries["connection api key"]}}}),
            await create("/v1/connections", {"name": "CANARY", "type": "secret",
                                             "secrets": {"value": canaries["secrets.X value"]}}),
        ]

        def steps(url: str, *, mailer: str, on_error: str) -> list[dict[str, Any]]:
            once = {"max_attempts": 1}
            return [
                {"$kind": "Action", "id": "mail", "type": "send_email", "retry": once, "on_error": on_error,
                 "input": {"connection": mailer, "to": ["kim@example.com"], "subject": "hi", "body": "hello"}},
                {"$kind": "Action", "id": "secret", "type": "webhook", "retry": once, "on_error": on_error,
                 "input": {"url": f"{url}/secret", "headers": {"X-Token": "{{secrets.CANARY}}"},
                           "body": {"token": "{{secrets.CANARY}}", "note": "t={{secrets.CANARY}}"}}},
                {"$kind": "Action", "id": "apikey", "type": "webhook", "retry": once, "on_error": on_error,
                 "input": {"url": f"{url}/apikey", "connection": "erp", "body": {"n": 1}}},
                {"$kind": "Action", "id": "bearer", "type": "webhook", "retry": once, "on_error": "fail",
                 "input": {"url": f"{url}/bearer", "connection": "crm", "body": {"n": 2}}},
            ]

        good = await create("/v1/workflows", {"name": "canaries", "workflow_blocks": steps(
            accepting.url, mailer="mailer", on_error="fail")})
        bad = await create("/v1/workflows", {"name": "canaries refused", "workflow_blocks": steps(
            refusing.url, mailer="bad-mailer", on_error="continue")})
        # The refusing receiver answers 401 and, like many APIs, quotes the credential it refused.
        for kind in ("secrets.X value", "connection api key", "bearer token"):
            refusing.respond(401, {"error": "unauthorized", "detail": f"credential {canaries[kind]} is not valid"})

        started = await create(f"/v1/workflows/{good['id']}/trigger", {"data": {"who": "Kim"}})
        done = await wait_for_status(http, started["id"], {"completed", "failed"})
        started_bad = await create(f"/v1/workflows/{bad['id']}/trigger", {"data": {}})
        failed = await wait_for_status(http, started_bad["id"], {"completed", "failed"})
        retried = await create(f"/v1/instances/{failed['id']}/retry", {})
        retried_done = await wait_for_status(http, retried["id"], {"completed", "failed"})
        dry = await http.post(f"/v1/workflows/{good['id']}/test", json={"data": {}})
        assert dry.status_code == 200, dry.text

        instances = [done["id"], failed["id"], retried["id"]]
        for path in ["/v1/workflows", "/v1/instances", f"/v1/instances?workflow_id={good['id']}", "/v1/connections",
                     "/v1/alerts", "/v1/keys"]:
            assert (await http.get(path)).status_code == 200
        for workflow in (good, bad):
            for suffix in ("", "/versions", "/versions/1"):
                assert (await http.get(f"/v1/workflows/{workflow['id']}{suffix}")).status_code == 200
        for instance in instances:
            for suffix in ("", "/history"):
                assert (await http.get(f"/v1/instances/{instance}{suffix}")).status_code == 200
        for connection in connections:
            assert (await http.get(f"/v1/connections/{connection['id']}")).status_code == 200
        await asyncio.sleep(0.5)  # the worker's last log lines after the runs closed

    # The canaries were really used: each reached its outside system.
    assert done["status"] == "completed", done
    assert (canaries["smtp username"], True) in smtp.logins and len(smtp.messages) == 1
    by_path = {r.path: r for r in accepting.requests}
    assert by_path["/bearer"].headers["authorization"] == f"Bearer {canaries['bearer token']}"
    assert by_path["/apikey"].headers["x-api-key"] == canaries["connection api key"]
    assert by_path["/secret"].headers["x-token"] == canaries["secrets.X value"]
    assert by_path["/secret"].json()["note"] == f"t={canaries['secrets.X value']}"
    # ... and the failing run went through every error path: SMTP AUTH refused, three 401s.
    assert failed["status"] == "failed", failed
    assert (canaries["smtp username"], False) in smtp.logins
    assert [s["status"] for s in failed["steps"]] == ["failed"] * 4, failed["steps"]
    assert [r.path for r in refusing.requests[:3]] == ["/secret", "/apikey", "/bearer"]
    errors = json.dumps([s["error"] for s in failed["steps"]] + [failed["error"]])
    assert "401" in errors and "[redacted]" in errors  # the quoted credential was cut out, the rest kept
    # the retry runs the refused steps again; the 401s are used up, so the last step now succeeds
    assert retried_done["status"] == "completed", retried_done

    leaks: list[str] = []
    for where, text in responses:
        leaks += found_in(canaries, f"the response to {where}", text)
    leaks += found_in(canaries, "error messages", errors)
    histories = await tenant_histories(relay, tenant_id)
    assert len(histories) >= 4, histories.keys()  # three runs and the dry run
    assert any(f"{accepting.url}/secret" in text for text in histories.values())  # payloads were decoded
    for execution, text in histories.items():
        leaks += found_in(canaries, f"the Temporal history of {execution}", text)
    out, err = capfd.readouterr()
    log_text = "\n".join(captured_logs.lines)
    assert failed["id"] in log_text and "answered 401" in log_text, "the failing run's log lines were not captured"
    leaks += found_in(canaries, "logs", log_text)
    leaks += found_in(canaries, "stdout", out) + found_in(canaries, "stderr", err)
    assert leaks == [], "\n".join(leaks)


async def test_a_secret_echoed_back_in_a_successful_answer_stays_out_of_history_and_the_api(loud_relay):
    """Echo endpoints (httpbin's /anything, many debug APIs) answer with the request's headers."""
    relay = loud_relay
    tenant_id, key = await relay.tenant(None, "admin")
    bearer, value = canary("echoed-bearer"), canary("echoed-secret")
    async with HttpReceiver() as echo, relay.http(key) as http:
        for name, body in (("crm", {"type": "http", "secrets": {"bearer_token": bearer}}),
                           ("ECHO", {"type": "secret", "secrets": {"value": value}})):
            assert (await http.post("/v1/connections", json={"name": name, **body})).status_code == 201
        echo.respond(200, {"headers": {"authorization": f"Bearer {bearer}"}}, headers={"x-echo": bearer})
        echo.respond(200, {"json": {"token": value}})
        workflow = (await http.post("/v1/workflows", json={"name": "echo", "workflow_blocks": [
            {"$kind": "Action", "id": "a", "type": "webhook", "input": {"url": echo.url, "connection": "crm"}},
            {"$kind": "Action", "id": "b", "type": "webhook",
             "input": {"url": echo.url, "body": {"token": "{{secrets.ECHO}}"}}}]})).json()["data"]
        started = (await http.post(f"/v1/workflows/{workflow['id']}/trigger", json={})).json()["data"]
        done = await wait_for_status(http, started["id"], {"completed", "failed"})
        shown = (await http.get(f"/v1/instances/{done['id']}")).text + (
            await http.get(f"/v1/instances/{done['id']}/history")).text
    assert done["status"] == "completed", done
    histories = "\n".join((await tenant_histories(relay, tenant_id)).values())
    leaks = [f"{kind} in {where}" for kind, secret in (("bearer", bearer), ("secrets.X", value))
             for where, text in (("the API", shown), ("history", histories)) if secret in text]
    assert leaks == []


async def test_a_webhook_triggers_signing_secret_stays_out_of_the_api_and_history(loud_relay):
    """SPEC §5 lists webhook secrets among the secrets that never appear in API responses or history."""
    relay = loud_relay
    tenant_id, key = await relay.tenant(None, "admin")
    secret = canary("hook-secret")
    async with relay.http(key) as http:
        created = await http.post("/v1/workflows", json={
            "name": "signed hook", "trigger_type": "webhook", "trigger_configuration": {"secret": secret},
            "workflow_blocks": [{"$kind": "Block", "type": "delay", "id": "d", "inputs": {"duration": "0s"}}]})
        assert created.status_code == 201, created.text
        workflow = created.json()["data"]
        raw = b'{"n": 1}'
        signature = signing.sign(secret, raw, int(time.time()))
        hooked = await http.post(workflow["webhook_url"].removeprefix(relay.url), content=raw,
                                 headers={signing.HEADER: signature, "content-type": "application/json"})
        assert hooked.status_code == 202, hooked.text
        done = await wait_for_status(http, hooked.json()["data"]["instance_id"], {"completed", "failed"})
        shown = [created.text, (await http.get(f"/v1/workflows/{workflow['id']}")).text,
                 (await http.get(f"/v1/workflows/{workflow['id']}/versions")).text, (await http.get("/v1/workflows")).text,
                 (await http.get(f"/v1/instances/{done['id']}")).text]
    histories = "\n".join((await tenant_histories(relay, tenant_id)).values())
    leaks = [f"the response #{i}" for i, text in enumerate(shown) if secret in text]
    assert leaks + (["Temporal history"] if secret in histories else []) == []


async def test_a_failing_webhook_request_logs_no_token(relay, captured_logs, monkeypatch):
    """The hook token is the credential of a webhook trigger: an unexpected error on its path is
    logged with the route, not the path that carries the token."""
    from app.routers import hooks

    _, key = await relay.tenant()
    async with relay.http(key) as http:
        workflow = (await http.post("/v1/workflows", json={
            "name": "hooked", "trigger_type": "webhook",
            "workflow_blocks": [{"$kind": "Block", "type": "delay", "id": "d", "inputs": {"duration": "0s"}}]})).json()
        url = workflow["data"]["webhook_url"]
        token = url.rsplit("/", 1)[1]

        async def broken(*args, **kwargs):
            raise RuntimeError("the database went away")

        monkeypatch.setattr(hooks.start_rows, "hook_with_version", broken)
        answer = await http.post(url.split("/v1/", 1)[1].join(["/v1/", ""]), json={"x": 1})
    assert answer.status_code == 500 and answer.json()["error"]["code"] == "internal_error"
    log_text = "\n".join(captured_logs.lines)
    assert "api.unhandled" in log_text and "/v1/hooks/{token}" in log_text, "the error was not logged"
    assert token not in log_text
