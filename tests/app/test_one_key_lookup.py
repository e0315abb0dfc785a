"""One API-key lookup per request (#15): the idempotency middleware and the route share it."""

from __future__ import annotations

from app.db.repo import keys as key_rows


def count_calls(monkeypatch, module, name: str, argument: str) -> list:
    """Every call of `module.name` (keyword-only repo functions), by its `argument`; the call goes through."""
    calls: list = []
    original = getattr(module, name)

    async def counted(session, **kwargs):
        calls.append(kwargs[argument])
        return await original(session, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


async def test_a_post_with_an_idempotency_key_looks_the_key_up_once(relay, monkeypatch):
    """With the credentials' cache out of the way (it would hide a second lookup; its own tests:
    tests/app/test_auth_cache.py)."""
    from app.services.keys import AuthCache, authenticate

    async def uncached(self, session, *, key):
        return await authenticate(session, key=key)

    monkeypatch.setattr(AuthCache, "principal", uncached)
    _, admin = await relay.tenant()
    lookups = count_calls(monkeypatch, key_rows, "key_by_hash", "key_hash")
    async with relay.http(admin) as http:
        first = await http.post("/v1/keys", json={"name": "once", "scopes": ["read:workflows"]},
                                headers={"Idempotency-Key": "one-lookup"})
        after_first = len(lookups)
        replay = await http.post("/v1/keys", json={"name": "once", "scopes": ["read:workflows"]},
                                 headers={"Idempotency-Key": "one-lookup"})
        plain = await http.get("/v1/keys")
    assert first.status_code == 201 and replay.headers.get("idempotent-replayed") == "true"
    assert plain.status_code == 200
    assert after_first == 1 and len(lookups) == 3  # one per request: the POST, its replay, the GET


async def test_a_trigger_uses_the_tenant_its_key_lookup_read_and_a_quota_change_counts_at_once(relay, monkeypatch):
    """The key query carries the tenant's name and quotas (#19): the start reads no tenant row, and
    a quota set between two requests holds for the second (its commit moves the credentials' epoch,
    so the second request's key is looked up afresh, app/db/authepoch.py)."""
    from app.db.repo import tenants as tenant_rows
    from tests.e2e.quota_helpers import set_quotas

    tenant_id, admin = await relay.tenant()
    await set_quotas(relay, tenant_id, {"max_runs_per_day": 5})
    reads = count_calls(monkeypatch, tenant_rows, "tenant_by_id", "tenant_id")
    block = {"$kind": "Block", "type": "delay", "id": "d", "inputs": {"duration": "0s"}}
    async with relay.http(admin) as http:
        workflow_id = (await http.post("/v1/workflows", json={"name": "facts", "workflow_blocks": [block]})
                       ).json()["data"]["id"]
        reads.clear()  # creating it read the row (max_workflows)
        first = await http.post(f"/v1/workflows/{workflow_id}/trigger", json={})
        assert first.status_code == 201, first.text
        assert reads == []
        await set_quotas(relay, tenant_id, {"max_runs_per_day": 1})
        refused = await http.post(f"/v1/workflows/{workflow_id}/trigger", json={})
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "quota_exceeded"
