"""Rate limits, idempotency and request guards (SPEC §3), through HTTP against the real app."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta

from tests.helpers.relay import relay_settings, sqlite_url, start_relay

DELAY = {"name": "idem", "workflow_blocks": [{"$kind": "Block", "type": "delay", "id": "d", "inputs": {"duration": "1h"}}]}


async def test_rate_limit_headers_and_429(temporal_env, tmp_path):
    settings = relay_settings(sqlite_url(tmp_path), temporal_env, rate_limit="5/minute")
    async for relay in start_relay(settings, temporal_env.client):
        _, key = await relay.tenant()
        _, other = await relay.tenant()
        async with relay.http(key) as http, relay.http(other) as second:
            answers = [await http.get("/v1/workflows") for _ in range(6)]
            unaffected = await second.get("/v1/workflows")
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    assert [a.headers["x-ratelimit-remaining"] for a in answers[:5]] == ["4", "3", "2", "1", "0"]
    assert all(a.headers["x-ratelimit-limit"] == "5" for a in answers)
    limited = answers[-1]
    assert limited.json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1 and int(limited.headers["x-ratelimit-reset"]) > 0
    assert unaffected.status_code == 200  # limits are per key


async def test_rate_limit_is_shared_through_redis_by_two_api_replicas(temporal_env, tmp_path, redis_url):
    settings = relay_settings(sqlite_url(tmp_path), temporal_env, rate_limit="6/minute", redis_url=redis_url)
    async for first in start_relay(settings, temporal_env.client):
        async for second in start_relay(settings, temporal_env.client, with_worker=False):
            _, key = await first.tenant()
            async with first.http(key) as a, second.http(key) as b:
                codes = [(await (a if i % 2 else b).get("/v1/workflows")).status_code for i in range(8)]
    assert codes == [200] * 6 + [429, 429]


async def test_same_key_same_body_replays_the_first_response(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        workflow_id = (await http.post("/v1/workflows", json=DELAY)).json()["data"]["id"]
        body = json.dumps({"data": {"n": 1}})
        headers = {"Idempotency-Key": "order-42", "content-type": "application/json"}
        first = await http.post(f"/v1/workflows/{workflow_id}/trigger", content=body, headers=headers)
        again = await http.post(f"/v1/workflows/{workflow_id}/trigger", content=body, headers=headers)
        other = await http.post(f"/v1/workflows/{workflow_id}/trigger", content=json.dumps({"data": {"n": 2}}),
                                headers=headers)
        stats = (await http.get(f"/v1/workflows/{workflow_id}")).json()["data"]["stats"]
        await http.post(f"/v1/instances/{first.json()['data']['id']}/cancel")
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_conflict"
    assert stats["total_runs"] == 1


async def test_concurrent_duplicates_have_one_effect(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        body = {**DELAY, "name": f"race {uuid.uuid4().hex[:6]}"}
        answers = await asyncio.gather(*(http.post("/v1/workflows", json=body, headers={"Idempotency-Key": "create-1"})
                                         for _ in range(8)))
        listed = (await http.get("/v1/workflows")).json()
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["data"]["id"] for a in answers}) == 1
    assert listed["meta"]["total"] == 1


async def test_trigger_retry_after_a_lost_answer_finds_the_same_instance(relay):
    """The instance id derives from the Idempotency-Key: even when the stored response is lost
    (the API died before answering), the retry gets the run that was started, not a second one."""
    from sqlmodel import delete, select

    from app.db.session import make_engine, make_sessionmaker
    from app.db.tables import IdempotencyRecord, TriggerCounter

    _, key = await relay.tenant()
    async with relay.http(key) as http:
        workflow_id = (await http.post("/v1/workflows", json=DELAY)).json()["data"]["id"]
        first = (await http.post(f"/v1/workflows/{workflow_id}/trigger", json={}, headers={"Idempotency-Key": "k"})).json()
        engine = make_engine(relay.settings.database_url)
        async with make_sessionmaker(engine)() as session:  # as if the API had crashed before storing it
            await session.exec(delete(IdempotencyRecord))
            await session.commit()
        await engine.dispose()
        retry = await http.post(f"/v1/workflows/{workflow_id}/trigger", json={}, headers={"Idempotency-Key": "k"})
        stats = (await http.get(f"/v1/workflows/{workflow_id}")).json()["data"]["stats"]
        engine = make_engine(relay.settings.database_url)
        async with make_sessionmaker(engine)() as session:  # the breaker counted the run once
            counted = (await session.exec(select(TriggerCounter.count).where(
                TriggerCounter.workflow_id == workflow_id))).one()
        await engine.dispose()
        await http.post(f"/v1/instances/{first['data']['id']}/cancel")
    assert retry.json()["data"]["id"] == first["data"]["id"]
    assert "_existing" not in retry.json()["data"]
    assert stats["total_runs"] == 1 and counted == 1


async def test_oversized_malformed_and_deep_bodies_are_refused_cleanly(relay, admin_key):
    big = b'{"name": "' + b"x" * (1024 * 1024 + 10) + b'"}'

    async def chunks():
        for start in range(0, len(big), 65536):
            yield big[start:start + 65536]

    async with relay.http(admin_key) as http:
        with_length = await http.post("/v1/workflows", content=big, headers={"content-type": "application/json"})
        streamed = await http.post("/v1/workflows", content=chunks(), headers={"content-type": "application/json"})
        malformed = await http.post("/v1/workflows", content=b'{"name": ', headers={"content-type": "application/json"})
        deep = await http.post("/v1/workflows", content=b"[" * 5000 + b"]" * 5000,
                               headers={"content-type": "application/json"})
        long_key = await http.post("/v1/workflows", json=DELAY, headers={"Idempotency-Key": "k" * 256})
    assert with_length.status_code == 413 and with_length.json()["error"]["code"] == "payload_too_large"
    assert "chunked" in (streamed.request.headers.get("transfer-encoding") or "")
    assert streamed.status_code == 413 and streamed.json()["error"]["code"] == "payload_too_large"
    for response in (malformed, deep, long_key):
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "validation_error"
        assert "Traceback" not in response.text and "x-request-id" in response.headers


async def test_the_same_json_with_other_spacing_is_the_same_request(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        body = {**DELAY, "name": f"spaced {uuid.uuid4().hex[:6]}"}
        headers = {"Idempotency-Key": "spacing", "content-type": "application/json"}
        first = await http.post("/v1/workflows", content=json.dumps(body), headers=headers)
        again = await http.post("/v1/workflows", content=json.dumps(body, indent=2, sort_keys=True), headers=headers)
    assert first.status_code == again.status_code == 201 and again.content == first.content


async def test_twenty_concurrent_triggers_with_one_key_start_one_run(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        workflow_id = (await http.post("/v1/workflows", json={**DELAY, "name": "once"})).json()["data"]["id"]
        answers = await asyncio.gather(*(http.post(f"/v1/workflows/{workflow_id}/trigger", json={"data": {"n": 1}},
                                                   headers={"Idempotency-Key": "one-run"}) for _ in range(20)))
        stats = (await http.get(f"/v1/workflows/{workflow_id}")).json()["data"]["stats"]
        ids = {a.json()["data"]["id"] for a in answers}
        await http.post(f"/v1/instances/{ids.pop()}/cancel")
    assert {a.status_code for a in answers} == {201}, [a.text for a in answers if a.status_code != 201][:2]
    assert len({a.json()["data"]["id"] for a in answers}) == 1
    assert stats["total_runs"] == 1


async def test_one_idempotency_key_for_two_workflows_is_a_conflict(relay):
    """The key's record is gone (as after 24 h), the key is reused for another workflow: 409, no run."""
    from sqlmodel import delete

    from app.db.session import make_engine, make_sessionmaker
    from app.db.tables import IdempotencyRecord

    _, key = await relay.tenant()
    async with relay.http(key) as http:
        first = (await http.post("/v1/workflows", json={**DELAY, "name": "first"})).json()["data"]["id"]
        second = (await http.post("/v1/workflows", json={**DELAY, "name": "second"})).json()["data"]["id"]
        started = (await http.post(f"/v1/workflows/{first}/trigger", json={}, headers={"Idempotency-Key": "shared"})).json()
        engine = make_engine(relay.settings.database_url)
        async with make_sessionmaker(engine)() as session:
            await session.exec(delete(IdempotencyRecord))
            await session.commit()
        await engine.dispose()
        other = await http.post(f"/v1/workflows/{second}/trigger", json={}, headers={"Idempotency-Key": "shared"})
        stats = (await http.get(f"/v1/workflows/{second}")).json()["data"]["stats"]
        await http.post(f"/v1/instances/{started['data']['id']}/cancel")
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_conflict"
    assert stats["total_runs"] == 0


async def test_a_key_reused_after_its_window_starts_a_new_run(relay, monkeypatch):
    """Past IDEMPOTENCY_WINDOW (24 h; shrunk to zero here) the key's record is gone and the old run is
    not an answer: a new run starts, with an id derived from the old one."""
    from sqlmodel import delete

    from app.db.session import make_engine, make_sessionmaker
    from app.db.tables import IdempotencyRecord
    from app.services import runs

    _, key = await relay.tenant()
    async with relay.http(key) as http:
        workflow_id = (await http.post("/v1/workflows", json={**DELAY, "name": "reused"})).json()["data"]["id"]
        first = (await http.post(f"/v1/workflows/{workflow_id}/trigger", json={}, headers={"Idempotency-Key": "daily"})).json()
        engine = make_engine(relay.settings.database_url)
        async with make_sessionmaker(engine)() as session:  # as the 24 h expiry would
            await session.exec(delete(IdempotencyRecord))
            await session.commit()
        await engine.dispose()
        monkeypatch.setattr(runs, "IDEMPOTENCY_WINDOW", timedelta(0))
        later = (await http.post(f"/v1/workflows/{workflow_id}/trigger", json={}, headers={"Idempotency-Key": "daily"})).json()
        stats = (await http.get(f"/v1/workflows/{workflow_id}")).json()["data"]["stats"]
        for instance in (first, later):
            await http.post(f"/v1/instances/{instance['data']['id']}/cancel")
    assert later["data"]["id"] != first["data"]["id"]
    assert stats["total_runs"] == 2


async def test_another_key_of_the_tenant_gets_no_replay_of_a_stored_answer(relay):
    """A replay runs no scope check, so the stored answer belongs to the key that asked: a
    workflows-only key repeating an admin's Idempotency-Key for POST /v1/keys gets 409, not the new key."""
    name = f"idem-{uuid.uuid4().hex[:8]}"
    _, admin = await relay.tenant(name)
    reader = await relay.key(name, "read:workflows", "write:workflows")
    body = {"name": "ci", "scopes": ["admin"]}
    async with relay.http(admin) as as_admin, relay.http(reader) as as_reader:
        created = await as_admin.post("/v1/keys", json=body, headers={"Idempotency-Key": "new-key"})
        replayed = await as_reader.post("/v1/keys", json=body, headers={"Idempotency-Key": "new-key"})
        again = await as_admin.post("/v1/keys", json=body, headers={"Idempotency-Key": "new-key"})
    assert created.status_code == 201, created.text
    assert replayed.status_code == 409 and replayed.json()["error"]["code"] == "idempotency_conflict"
    assert created.json()["data"]["key"] not in replayed.text
    assert again.status_code == 201 and again.json() == created.json()  # the asking key still gets its replay
