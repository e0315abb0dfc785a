"""SPEC §2.6: every invalid definition is refused with 400 validation_error naming the path; nothing is stored."""

from __future__ import annotations

import pytest


def action(type_: str = "webhook", **input_) -> dict:
    return {"$kind": "Action", "id": "a", "type": type_, "input": input_ or {"url": "https://example.com/x"}}


def wf(*blocks, **top) -> dict:
    return {"name": "bad", "workflow_blocks": list(blocks), **top}


CASES = [
    ("unknown kind", wf({"$kind": "Thing", "id": "a"}), "workflow_blocks.0"),
    ("unknown block type", wf({"$kind": "Block", "type": "loop", "id": "a"}), "workflow_blocks.0"),
    ("unknown action type", wf({"$kind": "Action", "id": "a", "type": "fax", "input": {}}), "workflow_blocks.0.type"),
    ("unknown operator", wf({"$kind": "Block", "type": "if-else", "id": "c",
                             "inputs": {"condition": {"operatorName": "roughly", "left": "1", "right": "2"}}}),
     "workflow_blocks.0.inputs.condition"),
    ("duplicate ids", wf(action(), action()), "workflow_blocks.1.id"),
    ("bad block id", wf({**action(), "id": "9lives"}), "workflow_blocks.0.id"),
    ("unknown step", wf(action(url="https://example.com/{{ghost.output.id}}")), "workflow_blocks.0.input.url"),
    ("later step", wf(action(url="https://example.com/{{b.output.id}}"),
                      {**action(), "id": "b"}), "workflow_blocks.0.input.url"),
    ("sibling branch", wf({"$kind": "Block", "type": "parallel", "id": "p", "branches": {
        "x": [{**action(), "id": "x1"}],
        "y": [{**action(), "id": "y1", "input": {"url": "https://example.com", "body": "{{x1.output}}"}}]}}),
     "workflow_blocks.0.branches.y.0.input.body"),
    ("code in a template", wf(action(url="https://example.com", body="{{7*7}}")), "workflow_blocks.0.input.body"),
    ("dunder in a template", wf(action(url="https://example.com", body="{{a.__class__}}")), "workflow_blocks.0.input.body"),
    ("bad cron", wf(trigger_type="schedule", trigger_configuration={"cron": "every day"}), "trigger_configuration.cron"),
    ("bad timezone", wf(trigger_type="schedule", trigger_configuration={"cron": "0 9 * * *", "timezone": "Mars/Base"}),
     "trigger_configuration.timezone"),
    ("bad duration", wf({"$kind": "Block", "type": "delay", "id": "d", "inputs": {"duration": "soon"}}),
     "workflow_blocks.0.inputs.duration"),
    ("bad JSON Logic", wf(trigger_constraints={"frobnicate": [1, 2]}), "trigger_constraints"),
    ("non-http url", wf(action(url="ftp://example.com/file")), "workflow_blocks.0.input.url"),
    ("metadata address", wf(action(url="http://169.254.169.254/latest/meta-data")), "workflow_blocks.0.input.url"),
    ("private address", wf(action(url="http://10.1.2.3/hook")), "workflow_blocks.0.input.url"),
    ("mapped loopback", wf(action(url="http://[::ffff:127.0.0.2]/x")), "workflow_blocks.0.input.url"),
    ("own hooks", wf(action(url="{public}/v1/hooks/abc")), "workflow_blocks.0.input.url"),
    ("changed_to in if-else", wf({"$kind": "Block", "type": "if-else", "id": "c",
                                  "inputs": {"condition": {"operatorName": "changed_to", "left": "a", "right": "b"}}}),
     "workflow_blocks.0.inputs.condition"),
    ("CRLF in subject", wf(action("send_email", to=["a@example.com"], subject="hi\r\nBcc: x@evil.test", body="x")),
     "workflow_blocks.0.input.subject"),
    ("CRLF in address", wf(action("send_email", to=["a@example.com\nBcc: x@evil.test"], subject="hi")),
     "workflow_blocks.0.input.to"),
    ("not an address", wf(action("send_email", to=["a@example.com", "sales team"], subject="hi")),
     "workflow_blocks.0.input.to"),
    ("not a sender", wf(action("send_email", to="a@example.com", subject="hi", **{"from": "relay"})),
     "workflow_blocks.0.input.from"),
    ("CRLF in header", wf(action(url="https://example.com", headers={"X-A": "1\r\nX-B: 2"})),
     "workflow_blocks.0.input.headers.X-A"),
    ("unknown input field", wf(action(url="https://example.com", colour="red")), "workflow_blocks.0.input.colour"),
    ("templated step timeout", wf({**action(url="https://example.com"), "timeout": "{{trigger.data.t}}"}),
     "workflow_blocks.0.timeout"),
    ("templated wait timeout", wf({"$kind": "Block", "type": "wait_for_event", "id": "w",
                                   "inputs": {"event": "go", "timeout": "{{trigger.data.t}}"}}),
     "workflow_blocks.0.inputs.timeout"),
    ("retry cap below its first interval", wf({**action(url="https://example.com"),
                                               "retry": {"initial_interval": "10s", "max_interval": "1s"}}),
     "workflow_blocks.0.retry.max_interval"),
    ("secrets outside actions", wf({"$kind": "Block", "type": "delay", "id": "d", "inputs": {"until": "{{secrets.KEY}}"}}),
     "workflow_blocks.0.inputs.until"),
    # second look at issue 13: durations past timedelta's range were a 500 (OverflowError)
    ("delay of 9999999999 days", wf({"$kind": "Block", "type": "delay", "id": "d",
                                     "inputs": {"duration": "9999999999d"}}), "workflow_blocks.0.inputs.duration"),
    ("delay of 1e308 seconds", wf({"$kind": "Block", "type": "delay", "id": "d", "inputs": {"duration": 1e308}}),
     "workflow_blocks.0.inputs.duration"),
    ("delay past a century", wf({"$kind": "Block", "type": "delay", "id": "d", "inputs": {"duration": "36526d"}}),
     "workflow_blocks.0.inputs.duration"),
    ("too many blocks", wf(*[{**action(), "id": f"a{i}"} for i in range(501)]), "workflow_blocks"),
    ("too deep", None, "workflow_blocks"),
    ("too large", wf(action(url="https://example.com", body="x" * 270_000)), "$"),
]


def nested(depth: int) -> dict:
    block: dict = {"$kind": "Action", "id": "leaf", "type": "webhook", "input": {"url": "https://example.com"}}
    for level in range(depth):
        block = {"$kind": "Block", "type": "if-else", "id": f"n{level}",
                 "inputs": {"condition": {"operatorName": "exists", "left": "x"}}, "branches": {"then": [block]}}
    return wf(block)


@pytest.mark.parametrize("name,body,path", CASES, ids=[c[0] for c in CASES])
async def test_invalid_definitions_are_refused_with_the_path(relay, admin_key, name, body, path):
    if body is None:
        body = nested(40)
    body = _fill(body, relay.url)
    async with relay.http(admin_key) as http:
        before = (await http.get("/v1/workflows")).json()["meta"]["total"]
        response = await http.post("/v1/workflows", json=body)
        after = (await http.get("/v1/workflows")).json()["meta"]["total"]
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert any(d["path"].startswith(path) for d in error["details"]), error["details"]
    assert after == before


def _fill(value, public):
    if isinstance(value, str):
        return value.replace("{public}", public)
    if isinstance(value, list):
        return [_fill(v, public) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, public) for k, v in value.items()}
    return value


async def test_a_valid_definition_with_every_block_kind_is_accepted(relay, admin_key):
    body = wf(
        {"$kind": "Action", "id": "s1", "type": "webhook", "input": {"url": "https://example.com/{{trigger.data.id}}"},
         "retry": {"max_attempts": 5, "initial_interval": "2s", "backoff": 2.0, "max_interval": "5m"},
         "timeout": "30s", "on_error": "continue"},
        {"$kind": "Block", "type": "if-else", "id": "c", "inputs": {"condition": {"all": [
            {"operatorName": "equals", "left": "{{s1.output.status_code}}", "right": "200"},
            {"not": {"operatorName": "is_empty", "left": "{{s1.output.body}}"}}]}},
         "branches": {"then": [{"$kind": "Block", "type": "delay", "id": "d", "inputs": {"duration": "2d"}}], "else": []}},
        {"$kind": "Block", "type": "wait_for_event", "id": "w", "inputs": {"event": "approved", "timeout": "3d"},
         "branches": {"received": [], "timeout": [{"$kind": "Block", "type": "stop", "id": "st", "inputs": {"status": "failed"}}]}},
        {"$kind": "Block", "type": "parallel", "id": "p", "branches": {"a": [], "b": []}},
        {"$kind": "Block", "type": "for_each", "id": "f", "inputs": {"items": "{{trigger.data.lines}}"},
         "branches": {"do": [{"$kind": "Action", "id": "each", "type": "send_email",
                              "input": {"to": "{{item.email}}", "subject": "#{{index}} {{w.output.note}}",
                                        "body": "key {{secrets.API_KEY}}"}}]}},
        trigger_type="event",
        trigger_configuration={"event": "deal.updated", "conditions": [{"field": "status", "operator": "changed_to", "value": "won"}]},
        trigger_constraints={"and": [{">": [{"var": "deal.value"}, 1000]}]},
    )
    async with relay.http(admin_key) as http:
        response = await http.post("/v1/workflows", json={**body, "name": "every kind"})
    assert response.status_code == 201, response.text
