"""Awkward secret values in URL paths, queries, hosts and bodies (issue 13, finding 2).

Each secret holds characters that URL parsers, forms and JSON encode (space, `/`, `+`, `?`,
`&`, `=`, `%`, quotes, backslash, non-ASCII), or is a whole URL with an upper-case scheme and a
default port. One run of one workflow uses them all against real local receivers that answer
500 or 200 and echo what they got (the raw request target, the decoded path and query, the
body), and a Slack-style receiver that quotes the webhook path it does not know. Then every
encoded form of every secret (raw, percent-encoded with `quote` and `quote_plus`, form-encoded,
JSON-escaped, lower-cased, the URL normalised) is looked for in the API's answers, the logs
(stdlib and structlog) and the Temporal history of the run, fetched through the Temporal client.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any
from urllib.parse import quote, quote_plus, unquote, urlencode, urlsplit

import h11
import httpx
import pytest

from tests.helpers.histories import tenant_histories
from tests.helpers.runs import wait_for_status
from tests.receivers import HttpReceiver


class EchoReceiver(HttpReceiver):
    """Answers 500 when the path holds `/fail`, 200 otherwise, with a JSON echo of the request:
    what many APIs (and Slack's `no_service`) quote back, on errors and on success alike."""

    async def _answer(self, conn: h11.Connection, writer: asyncio.StreamWriter, head: bool) -> None:
        request = self.requests[-1]
        raw_target = request.raw_target
        status = 500 if "/fail" in request.path else 200
        echo = {"error": f"no_service: {raw_target}", "path": unquote(request.path), "query": request.query,
                "body": request.body.decode("utf-8", "replace")}
        body = json.dumps(echo).encode()
        response = h11.Response(status_code=status, headers=[("content-type", "application/json"),
                                                             ("content-length", str(len(body)))])
        writer.write(conn.send(response))
        if not head:
            writer.write(conn.send(h11.Data(data=body)))
        writer.write(conn.send(h11.EndOfMessage()))
        await writer.drain()

    def _record(self, request: h11.Request, body: bytes) -> None:
        super()._record(request, body)
        self.requests[-1].raw_target = request.target.decode()  # type: ignore[attr-defined]


def forms(secret: str) -> set[str]:
    """Every spelling of `secret` that must not appear anywhere (compared lower-cased)."""
    spelled = {secret, quote(secret), quote(secret, safe=""), quote_plus(secret),
               urlencode({"k": secret}).split("=", 1)[1], quote(quote(secret, safe=""), safe=""),
               str(httpx.URL("http://h/" + secret.replace("?", "%3F"))).split("/", 3)[3],  # as httpx sends it
               str(httpx.URL("http://h/").copy_merge_params({"k": secret})).split("k=", 1)[1]}
    if "://" in secret:
        url = httpx.URL(secret)
        spelled |= {str(url), str(url.copy_with(port=None)), unquote(url.raw_path.decode()), url.raw_path.decode()}
        spelled.add(urlsplit(secret).path)  # what receivers quote on their own, and resolvers a host name
        spelled |= set() if url.host.replace(".", "").isdigit() else {url.host}
    spelled |= {json.dumps(form)[1:-1] for form in spelled}  # JSON-escaped (non-ASCII as \\uXXXX)
    return {form.lower() for form in spelled if len(form) >= 8}


def leaks_in(secrets: dict[str, str], where: str, text: str) -> list[str]:
    lowered = text.lower()
    return [f"{name} ({form!r}) in {where}" for name, value in secrets.items()
            for form in sorted(forms(value)) if form in lowered]


async def test_awkward_secrets_leave_no_trace_in_api_logs_or_history(loud_relay, captured_logs, capfd):
    relay = loud_relay
    tenant_id, api_key = await relay.tenant(None, "admin")
    h = uuid.uuid4().hex[:12]
    responses: list[tuple[str, str]] = []

    async def record(response: httpx.Response) -> None:
        await response.aread()
        responses.append((f"{response.request.method} {response.request.url.path}", response.text))

    async with EchoReceiver() as echo, httpx.AsyncClient(
            base_url=relay.url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30,
            event_hooks={"response": [record]}) as http:
        secrets = {
            "PATH": f"Pa th/ü+{h}&y=5%=z",
            "QUERY": f"q v&w=x+y%z/ü?{h}",
            "BODY": f'b "q" \\ é/{h}&a=1',
            "HOST": f"Geheim-Bücher-{h}.invalid",
            "URL_OK": f"HTTP://127.0.0.1:{echo.port}/ok/Whole Url/ü+{h}?k=v w",
            "URL_FAIL": f"HTTP://127.0.0.1:{echo.port}/fail/Whole Url/ü+{h}",
            "URL_80": f"HTTP://Whole-{h}.invalid:80/p a t h/ä",
            "slack fail": f"{echo.url}/fail/services/T{h}/B0/Sëcret Pâth+{h}",
            "slack ok": f"{echo.url}/ok/services/T{h}/B1/Sëcret Pâth+{h}",
        }

        async def create(path: str, body: dict[str, Any]) -> dict[str, Any]:
            created = await http.post(path, json=body)
            assert created.status_code == 201, created.text
            return created.json()["data"]

        for name in ("PATH", "QUERY", "BODY", "HOST", "URL_OK", "URL_FAIL", "URL_80"):
            await create("/v1/connections", {"name": name, "type": "secret", "secrets": {"value": secrets[name]}})
        for name in ("slack fail", "slack ok"):
            await create("/v1/connections", {"name": name.replace(" ", "-"), "type": "slack",
                                             "secrets": {"webhook_url": secrets[name]}})

        def hook(step_id: str, **step_input: Any) -> dict[str, Any]:
            return {"$kind": "Action", "id": step_id, "type": "webhook", "retry": {"max_attempts": 1},
                    "on_error": "continue", "input": step_input}

        def slack(step_id: str, connection: str) -> dict[str, Any]:
            return {"$kind": "Action", "id": step_id, "type": "send_channel_message", "retry": {"max_attempts": 1},
                    "on_error": "continue", "input": {"channel": "slack", "connection": connection, "message": "hi"}}

        blocks = []
        for outcome in ("fail", "ok"):
            base = f"{echo.url}/{outcome}"
            blocks += [
                hook(f"path_{outcome}", method="GET", url=base + "/p/{{secrets.PATH}}/end"),
                hook(f"query_{outcome}", method="GET", url=base + "/q?inline={{secrets.QUERY}}",
                     query={"t": "{{secrets.QUERY}}"}),
                hook(f"json_{outcome}", url=base + "/json", body={"token": "{{secrets.BODY}}"}),
                hook(f"text_{outcome}", url=base + "/text", body="t={{secrets.BODY}}&x=1"),
                slack(f"slack_{outcome}", f"slack-{outcome}"),
            ]
        blocks += [
            hook("host", method="GET", url="http://{{secrets.HOST}}:80/x"),
            hook("url_ok", method="GET", url="{{secrets.URL_OK}}"),
            hook("url_fail", method="GET", url="{{secrets.URL_FAIL}}"),
            hook("url_80", method="GET", url="{{secrets.URL_80}}"),
        ]
        workflow = await create("/v1/workflows", {"name": "awkward secrets", "workflow_blocks": blocks})
        started = await create(f"/v1/workflows/{workflow['id']}/trigger", {"data": {}})
        done = await wait_for_status(http, started["id"], {"completed", "failed"}, timeout=60)
        for path in (f"/v1/instances/{done['id']}", f"/v1/instances/{done['id']}/history", "/v1/instances"):
            assert (await http.get(path)).status_code == 200
        await asyncio.sleep(0.5)  # the worker's last log lines

    # The secrets were really used, and every outcome was reached.
    by_step = {step["step_id"] if "step_id" in step else step["id"]: step for step in done["steps"]}
    failed = {sid for sid, step in by_step.items() if step["status"] == "failed"}
    assert failed == {"path_fail", "query_fail", "json_fail", "text_fail", "slack_fail", "host", "url_fail",
                      "url_80"}, by_step
    assert {"path_ok", "query_ok", "json_ok", "text_ok", "slack_ok", "url_ok"} <= {
        sid for sid, step in by_step.items() if step["status"] == "completed"}, by_step
    got = echo.requests
    paths = [unquote(r.path) for r in got]
    assert f"/ok/p/{secrets['PATH']}/end" in paths, paths
    assert any(r.query.get("t") == secrets["QUERY"] for r in got)
    assert any(r.body and r.json() == {"token": secrets["BODY"]} for r in got if r.path == "/ok/json")
    assert urlsplit(secrets["slack fail"]).path in paths and "/ok/Whole Url/ü+" + h in paths
    errors = json.dumps([step.get("error") for step in done["steps"]])
    assert "answered 500" in errors

    leaks: list[str] = []
    for where, text in responses:
        leaks += leaks_in(secrets, f"the response to {where}", text)
    histories = await tenant_histories(relay, tenant_id)
    assert any(f"{echo.url}/ok/json" in text for text in histories.values())  # payloads were decoded
    for execution, text in histories.items():
        leaks += leaks_in(secrets, f"the Temporal history of {execution}", text)
    out, err = capfd.readouterr()
    log_text = "\n".join(captured_logs.lines)
    assert done["id"] in log_text and "answered 500" in log_text, "the run's log lines were not captured"
    leaks += leaks_in(secrets, "logs", log_text) + leaks_in(secrets, "stdout", out) + leaks_in(secrets, "stderr", err)
    assert leaks == [], "\n".join(leaks)
    assert f"GET http://127.0.0.1:{echo.port}/fail/p/{{{{secrets.PATH}}}}/end answered 500" in errors  # says which input
    assert "the webhook_url of slack connection 'slack-fail'" in errors and "GET {{secrets.URL_80}}" in errors


@pytest.mark.parametrize("secret", ["42"])
async def test_a_short_secret_is_not_cut_out_of_unrelated_values(loud_relay, secret):
    """Finding 10b: a secret "42" is scrubbed where it stands alone, not out of "1420"."""
    relay = loud_relay
    _, key = await relay.tenant(None, "admin")
    async with EchoReceiver() as echo, relay.http(key) as http:
        assert (await http.post("/v1/connections", json={
            "name": "PIN", "type": "secret", "secrets": {"value": secret}})).status_code == 201
        workflow = (await http.post("/v1/workflows", json={"name": "pin", "workflow_blocks": [
            {"$kind": "Action", "id": "a", "type": "webhook",
             "input": {"url": f"{echo.url}/ok/orders/1420", "body": {"pin": "{{secrets.PIN}}", "order": 1420}}}]})
                    ).json()["data"]
        started = (await http.post(f"/v1/workflows/{workflow['id']}/trigger", json={})).json()["data"]
        done = await wait_for_status(http, started["id"], {"completed", "failed"})
    assert done["status"] == "completed", done
    echoed = done["steps"][0]["output"]["body"]
    assert echoed["path"] == "/ok/orders/1420"
    assert json.loads(echoed["body"]) == {"pin": "[redacted]", "order": 1420} or '"pin":"[redacted]"' in echoed["body"]
