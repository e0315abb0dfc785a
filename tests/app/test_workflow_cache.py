"""The workflow cache (app/db/repo/start_rows.py WorkflowCache, on app/db/authepoch.py's epoch): a
trigger of a workflow the API has just started does not read the workflow again, nor an event the
workflows it matched, yet every change (a workflow disabled by its owner or its circuit breaker, a
version published, a limit lowered, a workflow deleted or created, by the API or by another
process) applies at the very next trigger or event. Every case triggers first, so that the API
holds what it read in its cache when the change comes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.authepoch import LocalEpoch
from app.db.repo import start_rows as workflow_rows
from app.db.repo.start_rows import WorkflowCache
from relay_common import signing

ROOT = Path(__file__).resolve().parents[2]
QUICK = [{"$kind": "Block", "type": "delay", "id": "pause", "inputs": {"duration": "0s"}}]


def _code(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, (response.json().get("error") or {}).get("code", "")


@pytest.fixture
def reads(monkeypatch):
    """Counts the reads of starts (`get_with_version`'s, `hook_with_version`'s and
    `version_for_start`'s statements); `moves` moves the epoch during each read."""
    counted = {"reads": 0, "moves": None}
    real = workflow_rows._start_row

    async def counting(session, statement, params):
        counted["reads"] += 1
        found = await real(session, statement, params)
        if counted["moves"] is not None:
            counted["moves"].move()  # another process changed a workflow while this read ran
        return found

    monkeypatch.setattr(workflow_rows, "_start_row", counting)
    return counted


@contextlib.asynccontextmanager
async def _kept(relay, reads, **fields):
    """A tenant's client and a workflow it has triggered three times, the third from the cache."""
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        yield http, await _triggered(http, reads, fields)


async def _triggered(http, reads, fields):
    created = await http.post("/v1/workflows", json={"name": "kept", "workflow_blocks": QUICK, **fields})
    assert created.status_code == 201, created.text
    workflow = created.json()["data"]
    for _ in range(2):
        started = await http.post(f"/v1/workflows/{workflow['id']}/trigger", json={})
        assert started.status_code == 201, started.text
    before = reads["reads"]
    again = await http.post(f"/v1/workflows/{workflow['id']}/trigger", json={})
    assert again.status_code == 201 and reads["reads"] == before  # served from the cache: no read
    return workflow


@pytest.mark.parametrize("change", ["disabled", "version published", "limit lowered", "deleted"])
async def test_a_cached_workflow_changes_at_the_next_trigger(relay, reads, change):
    async with _kept(relay, reads) as (http, workflow):
        path = f"/v1/workflows/{workflow['id']}"
        if change == "disabled":
            changed = await http.patch(path, json={"enabled": False})
        elif change == "version published":
            draft = await http.patch(path, json={"workflow_blocks": [*QUICK, {**QUICK[0], "id": "again"}],
                                                 "publish": False})
            assert draft.status_code == 200, draft.text
            changed = await http.post(f"{path}/publish", json={"version": 2})
        elif change == "limit lowered":  # three started today: the fourth trips the breaker
            changed = await http.patch(path, json={"max_triggers_per_day": 3})
        else:
            changed = await http.delete(path)
        assert changed.status_code == 200, changed.text
        after = await http.post(f"{path}/trigger", json={})
    if change == "version published":
        assert after.status_code == 201 and after.json()["data"]["workflow_version"] == 2, after.text
    elif change == "deleted":
        assert _code(after) == (404, "not_found")
    else:
        assert _code(after) == (409, "workflow_disabled"), after.text
        assert ("circuit breaker" in after.text) == (change == "limit lowered")


async def test_a_named_version_is_kept_too_and_a_missing_one_is_not(relay, reads):
    async with _kept(relay, reads) as (http, workflow):
        path = f"/v1/workflows/{workflow['id']}"
        for _ in range(2):
            assert (await http.post(f"{path}/trigger", json={"version": 1})).status_code == 201
        before = reads["reads"]
        assert (await http.post(f"{path}/trigger", json={"version": 1})).status_code == 201
        assert reads["reads"] == before
        for _ in range(2):  # any number may be asked for: a workflow without it is read each time
            assert _code(await http.post(f"{path}/trigger", json={"version": 9})) == (404, "not_found")
        assert reads["reads"] == before + 4  # each time: the workflow, then the version (not found either)
        assert (await http.patch(path, json={"enabled": False})).status_code == 200
        refused = await http.post(f"{path}/trigger", json={"version": 1})
    assert _code(refused) == (409, "workflow_disabled")


async def test_the_breakers_trip_is_read_again(relay, reads):
    async with _kept(relay, reads, max_triggers_per_day=4) as (http, workflow):
        fourth = await http.post(f"/v1/workflows/{workflow['id']}/trigger", json={})
        tripped = await http.post(f"/v1/workflows/{workflow['id']}/trigger", json={})
        before = reads["reads"]
        refused = await http.post(f"/v1/workflows/{workflow['id']}/trigger", json={})
    assert fourth.status_code == 201 and _code(tripped) == (409, "workflow_disabled")
    assert _code(refused) == (409, "workflow_disabled")
    assert reads["reads"] == before + 1  # the trip's UPDATE moved the epoch: the disabled row was read


async def test_a_change_by_another_process_applies_at_once(relay, reads):
    async with _kept(relay, reads) as (http, workflow):
        await _disable_in_another_process(relay, workflow["id"])
        assert _code(await http.post(f"/v1/workflows/{workflow['id']}/trigger", json={})) == (409, "workflow_disabled")


async def _disable_in_another_process(relay, workflow_id: str) -> None:
    script = ("import asyncio, sys\n"
              "from app.db.session import make_engine, make_sessionmaker\n"
              "from app.db.tables import Workflow\n"
              "async def main():\n"
              "    engine = make_engine(sys.argv[1])\n"
              "    async with make_sessionmaker(engine)() as session:\n"
              "        row = await session.get(Workflow, sys.argv[2])\n"
              "        row.enabled, row.disabled_reason = False, 'disabled'\n"
              "        await session.commit()\n"
              "    await engine.dispose()\n"
              "asyncio.run(main())\n")
    await _run(script, relay.settings.database_url, workflow_id)


async def _run(script: str, *args: str) -> None:
    """`script` in a process of its own (as `relay keys revoke` or another API process would write)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = await asyncio.to_thread(subprocess.run, [sys.executable, "-c", script, *args], env=env, cwd=ROOT,
                                   capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


# ---------------------------------------------------------------- events


@pytest.fixture
def event_reads(monkeypatch):
    """Counts the reads of events: their candidates and the versions their starts run."""
    counted = {"reads": 0}
    real = AsyncSession.exec

    async def counting(self, statement, *args, **kwargs):
        if statement is workflow_rows._CANDIDATES or statement is workflow_rows._VERSION_FOR_START:
            counted["reads"] += 1
        return await real(self, statement, *args, **kwargs)

    monkeypatch.setattr(AsyncSession, "exec", counting)
    return counted


def _event_workflow(name: str, event: str, *, minimum: int = 0) -> dict:
    return {"name": name, "trigger_type": "event", "workflow_blocks": QUICK,
            "trigger_configuration": {"event": event, "conditions": []},
            "trigger_constraints": {">=": [{"var": "trigger.data.amount"}, minimum]}}


async def _event(http, event: str, amount: int = 10) -> dict:
    answer = await http.post("/v1/events", json={"type": event, "data": {"amount": amount}})
    assert answer.status_code == 202, answer.text
    return answer.json()["data"]


@pytest.mark.parametrize("change", ["created", "disabled", "constraints published", "deleted"])
async def test_an_event_sees_each_change_to_its_workflows_at_once(relay, event_reads, change):
    _, key = await relay.tenant()
    event = f"deal.won{change.replace(' ', '')}"
    async with relay.http(key) as http:
        first = (await http.post("/v1/workflows", json=_event_workflow("first", event))).json()["data"]
        for _ in range(2):
            assert (await _event(http, event))["matched"] == [first["id"]]
        before = event_reads["reads"]
        assert (await _event(http, event))["matched"] == [first["id"]]
        assert event_reads["reads"] == before  # served from the cache: no read
        path = f"/v1/workflows/{first['id']}"
        if change == "created":
            second = (await http.post("/v1/workflows", json=_event_workflow("second", event))).json()["data"]
            expected = [first["id"], second["id"]]
        elif change == "disabled":
            assert (await http.patch(path, json={"enabled": False})).status_code == 200
            expected = []
        elif change == "constraints published":
            raised = _event_workflow("first", event, minimum=100)
            assert (await http.patch(path, json={"trigger_constraints": raised["trigger_constraints"]})).status_code == 200
            expected = []
        else:
            assert (await http.delete(path)).status_code == 200
            expected = []
        answer = await _event(http, event)
    assert answer["matched"] == expected and len(answer["instances"]) == len(expected)


async def test_an_event_matching_nothing_is_kept_until_a_workflow_is_created_elsewhere(relay, event_reads):
    tenant_id, key = await relay.tenant()
    async with relay.http(key) as http:
        for _ in range(2):
            assert (await _event(http, "deal.quiet"))["matched"] == []
        assert event_reads["reads"] == 1  # the empty answer is kept (and no start read a version)
        await _create_in_another_process(relay, tenant_id, _event_workflow("late", "deal.quiet"))
        assert len((await _event(http, "deal.quiet"))["matched"]) == 1


async def _create_in_another_process(relay, tenant_id: str, body: dict) -> None:
    script = ("import asyncio, json, sys\n"
              "from app.config import Settings\n"
              "from app.db.session import make_engine, make_sessionmaker\n"
              "from app.services import workflows\n"
              "async def main():\n"
              "    settings = Settings(env='test', database_url=sys.argv[1])\n"
              "    engine = make_engine(sys.argv[1])\n"
              "    async with make_sessionmaker(engine)() as session:\n"
              "        await workflows.create_workflow(session, tenant_id=sys.argv[2], body=json.loads(sys.argv[3]),\n"
              "                                        settings=settings)\n"
              "    await engine.dispose()\n"
              "asyncio.run(main())\n")
    await _run(script, relay.settings.database_url, tenant_id, json.dumps(body))


# ---------------------------------------------------------------- webhooks


@pytest.mark.parametrize("change", ["token rotated", "disabled", "deleted", "no longer a webhook"])
async def test_a_webhook_sees_each_change_to_its_workflow_at_once(relay, reads, change):
    _, key = await relay.tenant()
    async with relay.http(key) as http, httpx.AsyncClient(timeout=30) as outsider:
        created = await http.post("/v1/workflows", json={"name": "hook", "trigger_type": "webhook",
                                                         "workflow_blocks": QUICK})
        workflow = created.json()["data"]
        for _ in range(2):
            assert (await outsider.post(workflow["webhook_url"], json={})).status_code == 202
        before = reads["reads"]
        assert (await outsider.post(workflow["webhook_url"], json={})).status_code == 202
        assert reads["reads"] == before  # served from the cache: no read
        path = f"/v1/workflows/{workflow['id']}"
        if change == "token rotated":
            changed = await http.patch(path, json={"rotate_webhook_token": True})
        elif change == "disabled":
            changed = await http.patch(path, json={"enabled": False})
        elif change == "deleted":
            changed = await http.delete(path)
        else:  # the token stays on the row
            changed = await http.patch(path, json={"trigger_type": "manual", "trigger_configuration": {}})
        assert changed.status_code == 200, changed.text
        after = await outsider.post(workflow["webhook_url"], json={})
        if change == "token rotated":
            moved = await outsider.post(changed.json()["data"]["webhook_url"], json={})
            assert moved.status_code == 202, moved.text
    assert _code(after) == ((409, "workflow_disabled") if change == "disabled" else (404, "not_found"))


async def test_a_changed_webhook_secret_applies_at_the_next_delivery(relay, reads):
    """The secret lives in the kept version: a new one (a published version) moves the epoch, so
    the old signature is refused at once."""
    _, key = await relay.tenant()
    body = json.dumps({"order": 1}).encode()

    def signed(secret: str) -> dict[str, str]:
        return {"content-type": "application/json", "X-Relay-Signature": signing.sign(secret, body, int(time.time()))}

    async with relay.http(key) as http, httpx.AsyncClient(timeout=30) as outsider:
        workflow = (await http.post("/v1/workflows", json={
            "name": "signed", "trigger_type": "webhook", "trigger_configuration": {"secret": "whsec_old"},
            "workflow_blocks": QUICK})).json()["data"]
        for _ in range(2):
            assert (await outsider.post(workflow["webhook_url"], content=body, headers=signed("whsec_old"))).status_code == 202
        before = reads["reads"]
        assert (await outsider.post(workflow["webhook_url"], content=body, headers=signed("whsec_old"))).status_code == 202
        assert reads["reads"] == before
        changed = await http.patch(f"/v1/workflows/{workflow['id']}",
                                   json={"trigger_configuration": {"secret": "whsec_new"}})
        assert changed.status_code == 200, changed.text
        old = await outsider.post(workflow["webhook_url"], content=body, headers=signed("whsec_old"))
        new = await outsider.post(workflow["webhook_url"], content=body, headers=signed("whsec_new"))
    assert _code(old) == (401, "invalid_key") and new.status_code == 202, (old.text, new.text)


async def test_an_unknown_webhook_token_is_read_each_time(relay, reads):
    _, key = await relay.tenant()
    async with relay.http(key) as http, httpx.AsyncClient(timeout=30) as outsider:
        created = await http.post("/v1/workflows", json={"name": "hook", "trigger_type": "webhook",
                                                         "workflow_blocks": QUICK})
        unknown = created.json()["data"]["webhook_url"].rsplit("/", 1)[0] + "/" + "x" * 32
        before = reads["reads"]
        for _ in range(2):
            assert _code(await outsider.post(unknown, json={})) == (404, "not_found")
    assert reads["reads"] == before + 2  # what was not found is not kept


# ---------------------------------------------------------------- the cache's own rules


async def _read(relay, cache: WorkflowCache, tenant_id: str, workflow_id: str):
    async with relay.sessions() as session:
        return await workflow_rows.get_with_version(session, tenant_id=tenant_id, workflow_id=workflow_id,
                                                    cache=cache)


async def _workflow(relay) -> tuple[str, str]:
    tenant_id, key = await relay.tenant()
    async with relay.http(key) as http:
        created = await http.post("/v1/workflows", json={"name": "rules", "workflow_blocks": QUICK})
    return tenant_id, created.json()["data"]["id"]


async def test_each_start_gets_objects_of_its_own(relay, reads):
    tenant_id, workflow_id = await _workflow(relay)
    cache = WorkflowCache(LocalEpoch())
    (first, version), (second, _) = [await _read(relay, cache, tenant_id, workflow_id) for _ in range(2)]
    assert reads["reads"] == 1 and first is not second and first.id == second.id == workflow_id
    first.enabled = False  # what the breaker's trip does to the start's own object
    assert second.enabled and (await _read(relay, cache, tenant_id, workflow_id))[0].enabled
    assert version is not None and version.version_number == 1


async def test_what_was_not_found_or_raced_a_change_is_not_kept(relay, reads):
    tenant_id, workflow_id = await _workflow(relay)
    cache = WorkflowCache(LocalEpoch())
    for _ in range(2):
        assert await _read(relay, cache, tenant_id, "wf_missing") == (None, None)
        assert await _read(relay, cache, "ten_other", workflow_id) == (None, None)  # another tenant's id
    assert reads["reads"] == 4
    reads["moves"] = cache.epoch
    await _read(relay, cache, tenant_id, workflow_id)
    await _read(relay, cache, tenant_id, workflow_id)
    assert reads["reads"] == 6


async def test_without_an_epoch_nothing_is_kept(relay, reads):
    tenant_id, workflow_id = await _workflow(relay)
    cache = WorkflowCache(None)
    await _read(relay, cache, tenant_id, workflow_id)
    await _read(relay, cache, tenant_id, workflow_id)
    assert reads["reads"] == 2


def test_a_detached_row_can_be_changed_before_any_query():
    """`detached` configures SQLAlchemy's mappers itself: in a fresh process, before any query has,
    setting an attribute (as the breaker's trip does) would fail."""
    script = ("from app.db.tables import Workflow, detached\n"
              "row = detached(Workflow, {'id': 'wf_1', 'tenant_id': 't', 'name': 'n', 'enabled': True})\n"
              "row.enabled = False\n"
              "assert row.enabled is False and row.model_dump()['name'] == 'n'\n")
    done = subprocess.run([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
