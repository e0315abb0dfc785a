"""Issue 13 (findings 1, 4, 5, 7-duplicate keys, 8): request bodies and headers an outside caller
controls are refused cleanly (400, nothing changed), in linear time, and never stall the API."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest
from sqlmodel import select

from app.db.session import make_engine, make_sessionmaker
from app.db.tables import WorkflowVersion
from tests.helpers.relay import relay_settings, sqlite_url, start_relay

JSON = {"content-type": "application/json"}
GENEROUS = 10.0  # seconds: the old depth scan took 23 s for the 64 KB body below, and hours for 1 MiB
DELAY = [{"$kind": "Block", "type": "delay", "id": "d", "inputs": {"duration": "1h"}}]


def unterminated_escapes(count: int) -> bytes:
    """`"` then `\\"` × count: a string that never closes, which the old regex rescanned from every quote."""
    return b'"' + b'\\"' * count


async def test_an_unauthenticated_quadratic_body_is_answered_at_once_and_healthz_is_not_stalled(relay):
    biggest = unterminated_escapes((relay.settings.max_body_bytes - 1) // 2)
    assert len(biggest) <= relay.settings.max_body_bytes
    async with httpx.AsyncClient(base_url=relay.url, timeout=GENEROUS) as outsider:
        small = await outsider.post("/v1/hooks/not-a-token", content=unterminated_escapes(32000))
        in_flight = [asyncio.create_task(outsider.post("/v1/hooks/not-a-token", content=biggest)) for _ in range(3)]
        await asyncio.sleep(0)
        health = await outsider.get("/healthz")
        big = await asyncio.gather(*in_flight)
        on_an_api_route = await outsider.post("/v1/workflows", content=biggest, headers=JSON)
    assert small.status_code == 404, small.text
    assert health.status_code == 200
    assert {answer.status_code for answer in big} == {404}
    assert on_an_api_route.status_code in (400, 401)  # not JSON, or unauthenticated: either way not stalled


WRONG_JSON = [
    # (what, body, path, value)
    ("NaN in the editor state", b'{"name": "n", "workflow_blocks": [], "workflow_editor_state": {"z": NaN}}',
     "workflow_editor_state.z", "NaN"),
    ("Infinity in a block's input", b'{"name": "n", "workflow_blocks": [{"$kind": "Action", "id": "a", "type": "webhook",'
     b' "input": {"url": "https://example.com/x", "body": {"n": Infinity}}}]}', "workflow_blocks.0.input.body.n", "Infinity"),
    ("-Infinity in the constraints", b'{"name": "n", "workflow_blocks": [], "trigger_type": "event",'
     b' "trigger_configuration": {"event": "x.y"}, "trigger_constraints": {">": [{"var": "v"}, -Infinity]}}',
     "trigger_constraints.>.1", "-Infinity"),
    ("1e400 in the constraints", b'{"name": "n", "workflow_blocks": [], "trigger_type": "event",'
     b' "trigger_configuration": {"event": "x.y"}, "trigger_constraints": {"<": [{"var": "v"}, 1e400]}}',
     "trigger_constraints.<.1", "1e400"),
    ("a lone surrogate in the name", b'{"name": "bad \\ud800", "workflow_blocks": []}', "name", "bad \\ud800"),
    ("a lone surrogate in a key", b'{"name": "n", "workflow_blocks": [], "workflow_editor_state": {"\\udc00": 1}}',
     "workflow_editor_state.\\udc00", "\\udc00"),
    ("a duplicate top-level key", b'{"name": "first", "workflow_blocks": [], "name": "second"}', "name", "name"),
    ("a duplicate nested key", b'{"name": "n", "workflow_blocks": [{"$kind": "Block", "type": "delay", "id": "d",'
     b' "inputs": {"duration": "1h", "duration": "2h"}}]}', "workflow_blocks.0.inputs.duration", "duration"),
]


@pytest.mark.parametrize("what,body,path,value", WRONG_JSON, ids=[case[0] for case in WRONG_JSON])
async def test_a_workflow_body_that_is_not_strict_json_is_refused_and_nothing_is_stored(relay, what, body, path, value):
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        created = await http.post("/v1/workflows", content=body, headers=JSON)
        listed = await http.get("/v1/workflows")
    assert created.status_code == 400, created.text
    error = created.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"] == [{"path": path, "message": error["details"][0]["message"], "value": value}]
    assert listed.status_code == 200 and listed.json()["meta"]["total"] == 0


async def test_a_patch_with_nan_is_refused_and_the_workflow_stays_readable(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        workflow = (await http.post("/v1/workflows", json={"name": "p", "workflow_blocks": DELAY})).json()["data"]
        patched = await http.patch(f"/v1/workflows/{workflow['id']}", content=b'{"workflow_editor_state": {"z": NaN}}',
                                   headers=JSON)
        read = await http.get(f"/v1/workflows/{workflow['id']}")
        versions = await http.get(f"/v1/workflows/{workflow['id']}/versions")
    assert patched.status_code == 400 and patched.json()["error"]["details"][0]["path"] == "workflow_editor_state.z"
    assert read.status_code == 200 and read.json()["data"]["workflow_editor_state"] is None
    assert versions.status_code == 200 and len(versions.json()["data"]) == 1


async def test_trigger_event_and_metric_bodies_refuse_non_finite_numbers_surrogates_and_duplicates(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        workflow = (await http.post("/v1/workflows", json={"name": "t", "workflow_blocks": DELAY})).json()["data"]
        trigger = f"/v1/workflows/{workflow['id']}/trigger"
        answers = {
            "trigger 1e400": (await http.post(trigger, content=b'{"data": {"amount": 1e400}}', headers=JSON), "data.amount"),
            "trigger NaN": (await http.post(trigger, content=b'{"data": {"list": [1, NaN]}}', headers=JSON), "data.list.1"),
            "trigger duplicate": (await http.post(trigger, content=b'{"data": {"a": 1}, "data": {"a": 2}}', headers=JSON),
                                  "data"),
            "dry run NaN": (await http.post(f"/v1/workflows/{workflow['id']}/test", content=b'{"data": {"x": NaN}}',
                                            headers=JSON), "data.x"),
            "event Infinity": (await http.post("/v1/events", content=b'{"type": "deal.updated", "data": {"v": Infinity}}',
                                               headers=JSON), "data.v"),
            "event surrogate": (await http.post("/v1/events", content=b'{"type": "deal.updated", "entity": "\\udfff"}',
                                                headers=JSON), "entity"),
            "metric NaN": (await http.post("/v1/metrics", content=b'{"metric": "m", "value": NaN}', headers=JSON), "value"),
            "metric -1e999": (await http.post("/v1/metrics", content=b'[{"metric": "m", "value": -1e999}]', headers=JSON),
                              "0.value"),
        }
        runs = (await http.get(f"/v1/workflows/{workflow['id']}")).json()["data"]["stats"]["total_runs"]
    for what, (answer, path) in answers.items():
        assert answer.status_code == 400, (what, answer.text)
        error = answer.json()["error"]
        assert error["code"] == "validation_error" and error["details"][0]["path"] == path, (what, error)
    assert runs == 0


async def test_a_hook_refuses_strict_json_violations_but_still_takes_text(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as http, httpx.AsyncClient(timeout=30) as outsider:
        created = await http.post("/v1/workflows", json={"name": "h", "trigger_type": "webhook", "workflow_blocks": []})
        url = created.json()["data"]["webhook_url"]
        nan = await outsider.post(url, content=b'{"n": NaN}', headers=JSON)
        duplicate = await outsider.post(url, content=b'{"id": 1, "id": 2}', headers=JSON)
        text = await outsider.post(url, content=b"not json at all", headers={"content-type": "text/plain"})
    assert nan.status_code == 400 and nan.json()["error"]["details"][0]["path"] == "n"
    assert duplicate.status_code == 400 and duplicate.json()["error"]["details"][0]["value"] == "id"
    assert text.status_code == 202, text.text


async def test_valid_json_edge_cases_are_still_accepted(relay):
    """Escaped backslashes before `ud800`, surrogate pairs, tiny and huge finite numbers are JSON."""
    _, key = await relay.tenant()
    body = (b'{"name": "edge \\ud83d\\ude00", "workflow_blocks": [], "workflow_editor_state": '
            b'{"text": "\\\\ud800", "tiny": 1e-400, "big": 1.7e308, "brackets": "[[[{{{"}}')
    async with relay.http(key) as http:
        created = await http.post("/v1/workflows", content=body, headers=JSON)
    assert created.status_code == 201, created.text
    data = created.json()["data"]
    assert data["name"] == "edge \U0001F600"
    assert data["workflow_editor_state"] == {"text": "\\ud800", "tiny": 0.0, "big": 1.7e308, "brackets": "[[[{{{"}


async def test_only_utf8_json_is_read(relay):
    """UTF-16 JSON (which Python's json would read, NaN and all) is refused; invalid UTF-8 is not JSON
    (400, not 500); a leading UTF-8 BOM is tolerated."""
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        utf16 = await http.post("/v1/workflows", headers=JSON,
                                content='{"name": "n", "workflow_blocks": [], "workflow_editor_state": {"z": NaN}}'
                                .encode("utf-16"))
        garbled = await http.post("/v1/workflows", content=b'{"name": "\xff", "workflow_blocks": []}', headers=JSON)
        cesu = await http.post("/v1/workflows", content=b'{"name": "\xed\xa0\x80", "workflow_blocks": []}', headers=JSON)
        bom = await http.post("/v1/workflows", content=b'\xef\xbb\xbf{"name": "bom", "workflow_blocks": []}', headers=JSON)
        listed = (await http.get("/v1/workflows")).json()["meta"]["total"]
    for answer in (utf16, garbled, cesu):
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["code"] == "validation_error"
    assert utf16.json()["error"]["details"][0]["message"] == "JSON must be encoded as UTF-8"
    assert bom.status_code == 201, bom.text
    assert listed == 1


async def test_rows_stored_before_strict_bodies_are_still_readable(relay):
    """A NaN (or lone surrogate) already in the database is served as null (U+FFFD), not as a 500."""
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        workflow = (await http.post("/v1/workflows", json={"name": "old row", "workflow_blocks": DELAY})).json()["data"]
        engine = make_engine(relay.settings.database_url)
        async with make_sessionmaker(engine)() as session:
            version = (await session.exec(select(WorkflowVersion).where(
                WorkflowVersion.workflow_id == workflow["id"]))).one()
            version.editor_state = {"z": float("nan"), "inf": float("inf"), "s": "a\ud800b"}
            session.add(version)
            await session.commit()
        await engine.dispose()
        answers = [await http.get(path) for path in
                   ("/v1/workflows", f"/v1/workflows/{workflow['id']}", f"/v1/workflows/{workflow['id']}/versions")]
    for answer in answers:
        assert answer.status_code == 200, answer.text
    assert answers[1].json()["data"]["workflow_editor_state"] == {"z": None, "inf": None, "s": "a\ufffdb"}


@pytest.mark.parametrize("value", [b"\xb2", b"9" * 5000, b"\xd9\xa3", b"-1"], ids=["superscript", "5000 digits",
                                                                              "arabic digit", "negative"])
async def test_a_bad_relay_depth_header_is_a_400_naming_it(relay, value):
    _, key = await relay.tenant()
    async with relay.http(key) as http, httpx.AsyncClient(timeout=30) as outsider:
        created = await http.post("/v1/workflows", json={"name": "d", "trigger_type": "webhook", "workflow_blocks": []})
        hook = await outsider.post(created.json()["data"]["webhook_url"], json={}, headers={"X-Relay-Depth": value})
        event = await http.post("/v1/events", json={"type": "deal.updated"}, headers={"X-Relay-Depth": value})
    for answer in (hook, event):
        assert answer.status_code == 400, answer.text
        error = answer.json()["error"]
        assert error["code"] == "validation_error" and error["details"][0]["path"] == "X-Relay-Depth"


async def test_a_cursor_this_api_did_not_issue_is_refused_at_once(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        answers = [await http.get("/v1/instances", params={"cursor": cursor})
                   for cursor in ("QUJDREVG", "AAAA", "not base64!", "x" * 5000)]
    for answer in answers:
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["details"][0]["path"] == "cursor"


async def test_a_cursor_of_another_tenant_or_query_is_refused(relay):
    _, key_a = await relay.tenant()
    _, key_b = await relay.tenant()
    async with relay.http(key_a) as a, relay.http(key_b) as b:
        workflow = (await a.post("/v1/workflows", json={"name": "c", "workflow_blocks": DELAY})).json()["data"]
        started = [(await a.post(f"/v1/workflows/{workflow['id']}/trigger", json={})).json()["data"]["id"]
                   for _ in range(3)]
        for _ in range(50):  # visibility is eventually consistent
            first = await a.get("/v1/instances", params={"limit": 2})
            if first.json()["meta"]["next_cursor"]:
                break
            await asyncio.sleep(0.1)
        cursor = first.json()["meta"]["next_cursor"]
        second = await a.get("/v1/instances", params={"limit": 2, "cursor": cursor})
        other_tenant = await b.get("/v1/instances", params={"limit": 2, "cursor": cursor})
        other_query = await a.get("/v1/instances", params={"limit": 2, "cursor": cursor, "status": "completed"})
        for instance_id in started:
            await a.post(f"/v1/instances/{instance_id}/cancel")
    assert cursor and second.status_code == 200, second.text
    assert len(first.json()["data"]) + len(second.json()["data"]) == 3
    for answer in (other_tenant, other_query):
        assert answer.status_code == 400 and answer.json()["error"]["details"][0]["path"] == "cursor"


async def test_idempotent_replays_count_against_the_rate_limit_and_carry_its_headers(temporal_env, tmp_path):
    settings = relay_settings(sqlite_url(tmp_path), temporal_env, rate_limit="4/minute")
    async for relay in start_relay(settings, temporal_env.client):
        _, key = await relay.tenant()
        body = {"name": f"replayed {uuid.uuid4().hex[:6]}", "workflow_blocks": DELAY}
        async with relay.http(key) as http:
            answers = [await http.post("/v1/workflows", json=body, headers={"Idempotency-Key": "same"})
                       for _ in range(5)]
            conflict_after_limit = await http.post("/v1/workflows", json={**body, "name": "other"},
                                                   headers={"Idempotency-Key": "same"})
    assert [a.status_code for a in answers] == [201, 201, 201, 201, 429]
    assert [a.headers.get("idempotent-replayed") for a in answers[:4]] == [None, "true", "true", "true"]
    assert [a.headers.get("x-ratelimit-remaining") for a in answers] == ["3", "2", "1", "0", "0"]
    assert all(a.headers.get("x-ratelimit-limit") == "4" for a in answers)
    assert answers[-1].json()["error"]["code"] == "rate_limited" and int(answers[-1].headers["retry-after"]) >= 1
    assert conflict_after_limit.status_code == 429


async def test_a_platform_keys_replays_count_in_the_bucket_of_the_tenant_it_acts_for(temporal_env, tmp_path):
    """Replays were charged to the platform key's own bucket, not to the acting tenant's one that the
    route charges (app/acting.py rate_bucket): one customer's retries used another's allowance."""
    settings = relay_settings(sqlite_url(tmp_path), temporal_env, rate_limit="4/minute")
    async for relay in start_relay(settings, temporal_env.client):
        platform = await relay.platform_key()
        async with relay.http(platform) as http:
            a, b = [(await http.post("/v1/tenants", json={"name": f"t{i}-{uuid.uuid4().hex[:6]}"})).json()["data"]["id"]
                    for i in range(2)]
            body = {"name": "replayed", "workflow_blocks": DELAY}
            for_a = [await http.post("/v1/workflows", json=body, headers={"Idempotency-Key": "same", "Relay-Tenant": a})
                     for _ in range(5)]
            for_b = await http.post("/v1/workflows", json=body, headers={"Idempotency-Key": "same", "Relay-Tenant": b})
    assert [r.status_code for r in for_a] == [201, 201, 201, 201, 429], [r.text for r in for_a]
    assert for_b.status_code == 201, for_b.text  # B's allowance is its own


async def test_an_idempotent_conflict_carries_the_rate_limit_headers(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        first = await http.post("/v1/workflows", json={"name": "a", "workflow_blocks": DELAY},
                                headers={"Idempotency-Key": "k"})
        conflict = await http.post("/v1/workflows", json={"name": "b", "workflow_blocks": DELAY},
                                   headers={"Idempotency-Key": "k"})
    assert first.status_code == 201 and conflict.status_code == 409
    assert int(conflict.headers["x-ratelimit-remaining"]) == int(first.headers["x-ratelimit-remaining"]) - 1


def test_the_depth_scan_ignores_brackets_in_strings():
    from app.strictjson import depth

    assert depth(b'["[[[", {"a": "\\"{{"}]') == 2
    assert depth(b'"' + b'\\"' * 10) == 0
    assert depth(json.dumps([[[]]]).encode()) == 3


async def test_a_query_parameter_given_twice_is_refused_naming_it(relay):
    """The fuzz job: `GET /v1/instances?entity_id=a&entity_id=b` answered 200 with the last value; no
    filter takes a list, so which value counts would be a guess."""
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        twice = await http.get("/v1/instances?entity_id=a&limit=5&entity_id=b")
        blank_twice = await http.get("/v1/workflows?q=&q=")
        once = await http.get("/v1/instances?entity_id=a&limit=5")
    assert twice.status_code == 400, twice.text
    assert twice.json()["error"]["code"] == "validation_error"
    assert twice.json()["error"]["details"] == [{"path": "query.entity_id", "message": "give it once"}]
    assert blank_twice.status_code == 400 and "'q'" in blank_twice.json()["error"]["message"]
    assert once.status_code == 200, once.text
