"""/v1/keys: an admin key manages its own tenant's keys; a key is shown once and dies at once."""

from __future__ import annotations


async def test_create_list_and_delete_a_key(relay):
    _, admin = await relay.tenant()
    async with relay.http(admin) as http:
        created = await http.post("/v1/keys", json={"name": "ci", "scopes": ["read:workflows", "write:instances"]})
        assert created.status_code == 201, created.text
        key = created.json()["data"]
        listed = await http.get("/v1/keys")
        async with relay.http(key["key"]) as new:
            works = await new.get("/v1/workflows")
        deleted = await http.delete(f"/v1/keys/{key['id']}")
        async with relay.http(key["key"]) as new:
            after = await new.get("/v1/workflows")
        again = await http.delete(f"/v1/keys/{key['id']}")
        relisted = await http.get("/v1/keys")
    assert set(key) >= {"id", "name", "scopes", "created_at", "key"}
    assert key["key"].startswith("rly_") and key["name"] == "ci"
    assert key["scopes"] == ["read:workflows", "write:instances"]
    ids = [item["id"] for item in listed.json()["data"]]
    assert key["id"] in ids and listed.json()["meta"]["total"] == 2  # the admin key and the new one
    shown = next(item for item in listed.json()["data"] if item["id"] == key["id"])
    assert "key" not in shown and "key_hash" not in shown and key["key"].startswith(shown["prefix"])
    assert works.status_code == 200
    assert deleted.status_code == 200 and deleted.json()["data"] == {"id": key["id"], "deleted": True}
    assert after.status_code == 401 and after.json()["error"]["code"] == "invalid_key"
    assert again.status_code == 404
    assert key["id"] not in [item["id"] for item in relisted.json()["data"]]


async def test_key_values_never_appear_in_reads(relay):
    _, admin = await relay.tenant()
    async with relay.http(admin) as http:
        secret = (await http.post("/v1/keys", json={"name": "hidden", "scopes": ["admin"]})).json()["data"]["key"]
        bodies = [(await http.get("/v1/keys")).text, (await http.get("/v1/keys", params={"limit": 1})).text]
    for body in bodies:
        assert secret not in body and admin not in body
        assert secret[8:] not in body  # not even the part after the shown prefix


async def test_unknown_scopes_and_bad_bodies_are_validation_errors(relay):
    _, admin = await relay.tenant()
    async with relay.http(admin) as http:
        unknown = await http.post("/v1/keys", json={"name": "x", "scopes": ["read:workflows", "root", "write:all"]})
        empty = await http.post("/v1/keys", json={"name": "x", "scopes": []})
        missing = await http.post("/v1/keys", json={"name": "x"})
        total = (await http.get("/v1/keys")).json()["meta"]["total"]
    assert unknown.status_code == 400
    error = unknown.json()["error"]
    assert error["code"] == "validation_error"
    assert [d["path"] for d in error["details"]] == ["scopes.1", "scopes.2"]
    assert empty.status_code == 400 and empty.json()["error"]["details"][0]["path"] == "scopes"
    assert missing.status_code == 400 and missing.json()["error"]["details"][0]["path"] == "scopes"
    assert total == 1  # nothing was created


async def test_only_admin_keys_manage_keys(relay):
    _, reader = await relay.tenant(None, "read:workflows")
    _, writer = await relay.tenant(None, "write:workflows", "read:instances")
    async with relay.http(reader) as http:
        create = await http.post("/v1/keys", json={"name": "escalate", "scopes": ["admin"]})
        listed = await http.get("/v1/keys")
    async with relay.http(writer) as http:
        delete = await http.delete("/v1/keys/key_anything")
    for response in (create, listed, delete):
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "insufficient_permissions"


async def test_another_tenants_keys_are_invisible_and_undeletable(relay):
    _, admin_a = await relay.tenant()
    _, admin_b = await relay.tenant()
    async with relay.http(admin_a) as a, relay.http(admin_b) as b:
        b_key = (await b.post("/v1/keys", json={"name": "b-only", "scopes": ["read:workflows"]})).json()["data"]
        seen_by_a = await a.get("/v1/keys")
        deleted_by_a = await a.delete(f"/v1/keys/{b_key['id']}")
        async with relay.http(b_key["key"]) as b_reader:
            still_works = await b_reader.get("/v1/workflows")
    assert b_key["id"] not in [item["id"] for item in seen_by_a.json()["data"]]
    assert seen_by_a.json()["meta"]["total"] == 1
    assert deleted_by_a.status_code == 404 and deleted_by_a.json()["error"]["code"] == "not_found"
    assert still_works.status_code == 200


async def test_an_admin_key_can_revoke_itself(relay):
    _, admin = await relay.tenant()
    async with relay.http(admin) as http:
        me = (await http.get("/v1/keys")).json()["data"][0]
        revoked = await http.delete(f"/v1/keys/{me['id']}")
        after = await http.get("/v1/keys")
    assert revoked.status_code == 200
    assert after.status_code == 401
