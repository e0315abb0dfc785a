"""One API-key lookup per request (#15): the idempotency middleware and the route share it."""

from __future__ import annotations

from app.db.repo import keys as key_rows


async def test_a_post_with_an_idempotency_key_looks_the_key_up_once(relay, monkeypatch):
    _, admin = await relay.tenant()
    lookups = []
    original = key_rows.key_by_hash

    async def counted(session, *, key_hash):
        lookups.append(key_hash)
        return await original(session, key_hash=key_hash)

    monkeypatch.setattr(key_rows, "key_by_hash", counted)
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
