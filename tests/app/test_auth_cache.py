"""The credentials' cache (app/services/keys.py AuthCache, app/db/authepoch.py): a key or session
token the API has just served is not looked up again, yet whatever takes it away (a revoke, by the
API or by `relay keys revoke` in another process; a session revoked; its tenant disabled or
deleted) answers 401 at the very next request, and a tenant's changed quotas apply at once.
Every case uses the credential first, so that the API holds it in its cache when the change comes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from app.db.authepoch import FileEpoch, LocalEpoch, epoch_for
from app.services import keys as key_service
from app.services.keys import AuthCache

ROOT = Path(__file__).resolve().parents[2]
QUICK = [{"$kind": "Block", "type": "delay", "id": "pause", "inputs": {"duration": "0s"}}]


def _code(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, (response.json().get("error") or {}).get("code", "")


async def _served_twice(relay, credential: str) -> None:
    async with relay.http(credential) as http:
        for _ in range(2):
            assert (await http.get("/v1/workflows")).status_code == 200


@pytest.fixture
async def host(relay):
    """A platform key's client, a fresh tenant it made, and that tenant's admin key."""
    async with relay.http(await relay.platform_key()) as http:
        ext = uuid.uuid4().hex[:8]
        tenant = (await http.post("/v1/tenants", json={"name": f"Cache {ext}", "external_id": f"cache-{ext}"})).json()
        as_it = {"Relay-Tenant": tenant["data"]["id"]}
        made = await http.post("/v1/keys", json={"name": "k", "scopes": ["admin"]}, headers=as_it)
        yield http, tenant["data"], made.json()["data"]


@pytest.mark.parametrize("change", ["key revoked", "session revoked", "tenant disabled", "tenant deleted"])
async def test_a_cached_credential_answers_401_right_after_the_change(relay, host, change, lookups):
    http, tenant, key = host
    as_it = {"Relay-Tenant": tenant["id"]}
    session = (await http.post(f"/v1/tenants/{tenant['id']}/sessions", json={"scopes": ["read:workflows"]})).json()
    credential = session["data"]["token"] if change == "session revoked" else key["key"]
    other = (await http.post("/v1/keys", json={"name": "other", "scopes": ["admin"]}, headers=as_it)).json()["data"]
    await _served_twice(relay, credential)
    await _served_twice(relay, other["key"])
    before = lookups["lookups"]
    await _served_twice(relay, credential)
    assert lookups["lookups"] == before  # served from the cache: no lookup

    if change == "key revoked":
        changed = await http.delete(f"/v1/keys/{key['id']}", headers=as_it)
    elif change == "session revoked":
        changed = await http.delete(f"/v1/sessions/{session['data']['id']}")
    elif change == "tenant disabled":
        changed = await http.patch(f"/v1/tenants/{tenant['id']}", json={"disabled": True})
    else:
        changed = await http.delete(f"/v1/tenants/{tenant['id']}")
    assert changed.status_code in (200, 202), changed.text  # a tenant's delete answers 202

    async with relay.http(credential) as gone, relay.http(other["key"]) as kept:
        assert _code(await gone.get("/v1/workflows")) == (401, "invalid_key")
        still = await kept.get("/v1/workflows")
    # another key of the tenant is looked up again and still served, unless its tenant went
    assert still.status_code == (200 if change in ("key revoked", "session revoked") else 401)


async def test_a_revoke_by_another_process_answers_401_at_once(relay):
    tenant_id, key = await relay.tenant()
    await _served_twice(relay, key)
    async with relay.sessions() as session:
        from app.db.repo import keys as key_rows

        [row] = await key_rows.live_keys(session, tenant_id=tenant_id)
    env = {**os.environ, "RELAY_DATABASE_URL": relay.settings.database_url, "RELAY_ENV": "test", "PYTHONPATH": str(ROOT)}
    done = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "app.cli", "keys", "revoke", row.id],
                                   env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    async with relay.http(key) as http:
        assert _code(await http.get("/v1/workflows")) == (401, "invalid_key")


async def test_a_changed_quota_applies_to_the_next_trigger(relay, host):
    http, tenant, key = host
    async with relay.http(key["key"]) as tenant_http:
        workflow = (await tenant_http.post("/v1/workflows", json={"name": "q", "workflow_blocks": QUICK})).json()
        first = await tenant_http.post(f"/v1/workflows/{workflow['data']['id']}/trigger", json={})
        assert first.status_code == 201, first.text
        lowered = await http.patch(f"/v1/tenants/{tenant['id']}", json={"quotas": {"max_runs_per_day": 0}})
        assert lowered.status_code == 200, lowered.text
        refused = await tenant_http.post(f"/v1/workflows/{workflow['data']['id']}/trigger", json={})
    assert _code(refused) == (429, "quota_exceeded") and "max_runs_per_day" in refused.text


# ---------------------------------------------------------------- the cache's own rules, on the API's database


@pytest.fixture
def lookups(monkeypatch):
    """Counts the real lookups `AuthCache` makes; `moves` moves the epoch during each lookup."""
    counted = {"lookups": 0, "moves": None}
    real = key_service.authenticate

    async def counting(session, *, key):
        counted["lookups"] += 1
        principal = await real(session, key=key)
        if counted["moves"] is not None:
            counted["moves"].move()  # another process's revoke committed while this lookup ran
        return principal

    monkeypatch.setattr(key_service, "authenticate", counting)
    return counted


async def _ask(relay, cache: AuthCache, key: str):
    async with relay.sessions() as session:
        return await cache.principal(session, key=key)


async def test_an_answer_is_kept_until_the_epoch_moves(relay, lookups):
    _, key = await relay.tenant()
    epoch = LocalEpoch()
    cache = AuthCache(epoch)
    first, second = await _ask(relay, cache, key), await _ask(relay, cache, key)
    assert first == second and first is not None and lookups["lookups"] == 1
    epoch.move()
    assert await _ask(relay, cache, key) == first and lookups["lookups"] == 2


async def test_a_lookup_that_raced_a_change_is_not_kept(relay, lookups):
    _, key = await relay.tenant()
    lookups["moves"] = epoch = LocalEpoch()
    cache = AuthCache(epoch)
    await _ask(relay, cache, key)
    await _ask(relay, cache, key)
    assert lookups["lookups"] == 2


async def test_unknown_keys_are_not_kept_and_answers_end_with_their_ttl_or_session(relay, lookups, monkeypatch):
    _, key = await relay.tenant()
    cache = AuthCache(LocalEpoch())
    assert await _ask(relay, cache, "rly_" + "0" * 43) is None
    assert await _ask(relay, cache, "rly_" + "0" * 43) is None
    assert lookups["lookups"] == 2

    short = AuthCache(LocalEpoch(), ttl=0.0)
    await _ask(relay, short, key)
    await _ask(relay, short, key)
    assert lookups["lookups"] == 4

    real = key_service.authenticate

    async def ending_soon(session, *, key):
        principal = await real(session, key=key)
        return replace(principal, expires_at=datetime.now(UTC) + timedelta(milliseconds=200))

    monkeypatch.setattr(key_service, "authenticate", ending_soon)
    ending = AuthCache(LocalEpoch())
    kept = await _ask(relay, ending, key)
    assert await _ask(relay, ending, key) is kept  # kept while the token lasts
    await asyncio.sleep(0.3)
    assert await _ask(relay, ending, key) is not kept  # looked up again once it ended


async def test_the_oldest_answer_goes_when_the_cache_is_full(relay, lookups):
    keys = [(await relay.tenant())[1] for _ in range(3)]
    cache = AuthCache(LocalEpoch(), max_entries=2)
    for key in keys:
        await _ask(relay, cache, key)
    await _ask(relay, cache, keys[2])
    await _ask(relay, cache, keys[0])
    assert lookups["lookups"] == 4  # keys[0] was dropped for keys[2]


def test_which_databases_have_an_epoch(tmp_path):
    assert epoch_for("postgresql://postgres@127.0.0.1:5432/test") is None
    assert isinstance(epoch_for("sqlite://"), LocalEpoch)
    assert epoch_for("sqlite:///file:/data/relay.db?uri=true&mode=rw") is None  # a path we do not parse: no cache
    epoch = epoch_for(f"sqlite:///{tmp_path / 'relay.db'}")
    assert isinstance(epoch, FileEpoch) and epoch.path == (tmp_path / "relay.db-auth").resolve()
    assert epoch.read() is None
    values = []
    for _ in range(50):  # moves in one tick of the file system's clock, inodes reused: never a value seen before
        epoch.move()
        values.append(epoch.read())
    assert None not in values and len(set(values)) == 50
    assert sorted(p.name for p in tmp_path.iterdir()) == ["relay.db-auth"]  # nothing staged is left


async def _tenant_row(relay):
    from app.db.tables import Tenant

    tenant_id, _ = await relay.tenant()
    return Tenant, tenant_id


async def test_only_the_outermost_commit_moves_the_epoch(relay):
    """A savepoint's release fires the session's commit events too: moving the epoch then would
    let a lookup between the release and the real COMMIT be kept under the new epoch."""
    table, tenant_id = await _tenant_row(relay)
    epoch = epoch_for(relay.settings.database_url)
    async with relay.sessions() as session:
        row = await session.get(table, tenant_id)
        async with session.begin_nested():
            row.quotas = {"max_workflows": 7}
        released = epoch.read()
        async with session.begin_nested() as nested:  # rolled back: what came before it stays changed
            row.name = f"{row.name}-x"
            await session.flush()
            await nested.rollback()
        before_commit = epoch.read()
        await session.commit()
    assert released == before_commit != epoch.read()


async def test_a_change_whose_epoch_cannot_be_written_is_not_committed(relay, monkeypatch):
    table, tenant_id = await _tenant_row(relay)

    def full_disk(self):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(FileEpoch, "stage", full_disk)
    async with relay.sessions() as session:
        row = await session.get(table, tenant_id)
        row.disabled = True
        with pytest.raises(OSError, match="No space left"):
            await session.commit()
    monkeypatch.undo()
    async with relay.sessions() as session:
        assert (await session.get(table, tenant_id)).disabled is False  # fails closed: no change a cache would miss


async def test_without_an_epoch_nothing_is_kept(relay, lookups):
    _, key = await relay.tenant()
    cache = AuthCache(None)
    await _ask(relay, cache, key)
    await _ask(relay, cache, key)
    assert lookups["lookups"] == 2
