"""/v1/connections: per-type validation, write-only secrets encrypted at rest, defaults, tenants."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.db.session import make_engine, make_sessionmaker
from app.db.tables import Connection

SECRET = "s3cr3t-Value-that-must-never-leak"

VALID = [
    {"type": "smtp", "config": {"host": "smtp.example.com", "port": 587, "starttls": True, "from": "ops@acme.test"},
     "secrets": {"username": "ops", "password": SECRET}},
    {"type": "smtp", "config": {"host": "127.0.0.1", "port": 2525}},  # loopback is in the tests' outbound allow list
    {"type": "slack", "config": {}, "secrets": {"webhook_url": f"https://hooks.slack.com/services/{SECRET}"}},
    {"type": "slack", "config": {"api_url": "https://slack.com/api"}, "secrets": {"bot_token": SECRET}},
    {"type": "teams", "secrets": {"webhook_url": f"https://acme.webhook.office.com/{SECRET}"}},
    {"type": "discord", "secrets": {"webhook_url": f"https://discord.com/api/webhooks/{SECRET}"}},
    {"type": "http", "config": {"base_url": "https://api.acme.test"}, "secrets": {"bearer_token": SECRET}},
    {"type": "http", "secrets": {"headers": {"X-Api-Key": SECRET}}},
    {"type": "http", "secrets": {"username": "bot", "password": SECRET}},
    {"type": "connector", "config": {"url": "https://crm.acme.test/relay"}, "secrets": {"signing_secret": SECRET}},
    {"type": "alert", "config": {"url": "https://alerts.acme.test/hook"}},
    {"type": "alert", "config": {"email": "oncall@acme.test"}},
    {"type": "secret", "secrets": {"value": SECRET}},
]

INVALID = [
    ({"type": "ftp"}, ["type"]),
    ({"type": "smtp", "config": {"port": "25"}}, ["config.port", "config.host"]),
    ({"type": "smtp", "config": {"host": "smtp.acme.test", "hots": "x"}, "secrets": {"username": "u"}},
     ["config.hots", "secrets.password"]),
    ({"type": "smtp", "config": {"host": "10.0.0.5"}}, ["config.host"]),
    ({"type": "slack", "secrets": {}}, ["secrets"]),
    ({"type": "slack", "secrets": {"webhook_url": "ftp://hooks.slack.com/x"}}, ["secrets.webhook_url"]),
    ({"type": "teams", "config": {"webhook_url": "https://x.test"}}, ["config.webhook_url", "secrets.webhook_url"]),
    ({"type": "discord", "secrets": {"webhook_url": "http://169.254.169.254/latest"}}, ["secrets.webhook_url"]),
    ({"type": "http", "config": {"base_url": "https://api.acme.test"}}, ["secrets"]),
    ({"type": "http", "secrets": {"bearer_token": "a\r\nX-Evil: 1"}}, ["secrets.bearer_token"]),
    ({"type": "http", "secrets": {"headers": {"Bad Header": "v", "Ok": 5}}},
     ["secrets.headers.Bad Header", "secrets.headers.Ok"]),
    ({"type": "connector", "config": {}, "secrets": {}}, ["config.url", "secrets.signing_secret"]),
    ({"type": "alert", "config": {}}, ["config"]),
    ({"type": "secret", "secrets": {"value": 42}}, ["secrets.value"]),
    ({"type": "secret", "secrets": {"value": "x"}, "name": "has space"}, ["name"]),
    ({"type": "http", "secrets": "not-an-object"}, ["secrets"]),
    ({"type": "secret", "secrets": {"value": "x"}, "colour": "red"}, ["colour"]),
]


@pytest.mark.parametrize("body", VALID, ids=[f"{b['type']}-{i}" for i, b in enumerate(VALID)])
async def test_each_type_is_created_and_its_secrets_are_write_only(relay, body):
    _, key = await relay.tenant()
    name = f"my_{body['type']}"
    async with relay.http(key) as http:
        created = await http.post("/v1/connections", json={"name": name, **body})
        assert created.status_code == 201, created.text
        data = created.json()["data"]
        read = await http.get(f"/v1/connections/{data['id']}")
        listed = await http.get("/v1/connections")
    assert set(data) == {"id", "name", "type", "config", "secrets", "default", "created_at"}
    assert data["name"] == name and data["type"] == body["type"] and data["default"] is False
    assert data["config"] == body.get("config", {})
    assert data["secrets"] == sorted(body.get("secrets", {}))
    assert read.json()["data"] == data
    assert listed.json()["data"] == [data] and listed.json()["meta"]["total"] == 1
    for response in (created, read, listed):
        assert SECRET not in response.text


@pytest.mark.parametrize("body,paths", INVALID, ids=[f"{b['type']}-{i}" for i, (b, _) in enumerate(INVALID)])
async def test_invalid_connections_are_refused_with_the_paths_of_the_problems(relay, body, paths):
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        refused = await http.post("/v1/connections", json={"name": "bad", **body})
        total = (await http.get("/v1/connections")).json()["meta"]["total"]
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["code"] == "validation_error"
    assert sorted(d["path"] for d in error["details"]) == sorted(paths)
    assert "X-Evil" not in refused.text and "169.254" not in refused.text  # values are never echoed
    assert total == 0


async def test_secrets_are_encrypted_in_the_database(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        created = (await http.post("/v1/connections", json={
            "name": "crm", "type": "http", "config": {"base_url": "https://crm.acme.test"},
            "secrets": {"bearer_token": SECRET}})).json()["data"]
    engine = make_engine(relay.settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            row = (await session.exec(select(Connection).where(Connection.id == created["id"]))).one()
    finally:
        await engine.dispose()
    assert row.secret_names == ["bearer_token"]
    assert row.secrets_encrypted and SECRET not in row.secrets_encrypted
    assert "bearer_token" not in row.secrets_encrypted
    resolved = await relay.store.get_connection(row.tenant_id, "http", "crm")  # what an activity sees
    assert resolved is not None and resolved.secrets == {"bearer_token": SECRET}
    assert SECRET not in repr(resolved)


async def test_duplicate_names_conflict_even_across_types_and_under_a_race(relay):
    import asyncio

    _, key = await relay.tenant()
    async with relay.http(key) as http:
        first = await http.post("/v1/connections", json={"name": "dup", "type": "secret", "secrets": {"value": "a"}})
        second = await http.post("/v1/connections", json={"name": "dup", "type": "alert",
                                                           "config": {"email": "a@acme.test"}})
        raced = await asyncio.gather(*[
            http.post("/v1/connections", json={"name": "race", "type": "secret", "secrets": {"value": str(i)}})
            for i in range(8)])
        total = (await http.get("/v1/connections")).json()["meta"]["total"]
    assert first.status_code == 201
    assert second.status_code == 409 and second.json()["error"]["code"] == "duplicate_name"
    assert sorted(r.status_code for r in raced) == [201] + [409] * 7
    assert all(r.json()["error"]["code"] == "duplicate_name" for r in raced if r.status_code == 409)
    assert total == 2


async def test_default_moves_to_the_newest_default_of_the_same_type(relay):
    tenant_id, key = await relay.tenant()
    smtp = {"type": "smtp", "config": {"host": "smtp.acme.test"}}
    async with relay.http(key) as http:
        one = (await http.post("/v1/connections", json={"name": "one", "default": True, **smtp})).json()["data"]
        other = (await http.post("/v1/connections", json={"name": "hook", "type": "teams", "default": True,
                                                          "secrets": {"webhook_url": "https://t.acme.test/x"}}))
        two = (await http.post("/v1/connections", json={"name": "two", "default": True, **smtp})).json()["data"]
        three = (await http.post("/v1/connections", json={"name": "three", **smtp})).json()["data"]
        listed = {c["name"]: c["default"] for c in (await http.get("/v1/connections")).json()["data"]}
        only_smtp = (await http.get("/v1/connections", params={"type": "smtp"})).json()["meta"]["total"]
        used_before = await relay.store.get_connection(tenant_id, "smtp", None)
        await http.delete(f"/v1/connections/{two['id']}")
        used_after = await relay.store.get_connection(tenant_id, "smtp", None)
    assert one["default"] is True and two["default"] is True and three["default"] is False
    assert other.status_code == 201
    assert listed == {"one": False, "hook": True, "two": True, "three": False}
    assert only_smtp == 3
    assert used_before is not None and used_before.id == two["id"]
    assert used_after is None  # no silent fallback to an older connection


async def test_another_tenants_connections_are_not_found(relay):
    tenant_a, key_a = await relay.tenant()
    tenant_b, key_b = await relay.tenant()
    async with relay.http(key_a) as a, relay.http(key_b) as b:
        mine = (await a.post("/v1/connections", json={"name": "API_TOKEN", "type": "secret", "default": True,
                                                      "secrets": {"value": SECRET}})).json()["data"]
        read = await b.get(f"/v1/connections/{mine['id']}")
        deleted = await b.delete(f"/v1/connections/{mine['id']}")
        listed = await b.get("/v1/connections")
        same_name = await b.post("/v1/connections", json={"name": "API_TOKEN", "type": "secret",
                                                          "secrets": {"value": "b's own"}})
        still_there = await a.get(f"/v1/connections/{mine['id']}")
        deleted_by_owner = await a.delete(f"/v1/connections/{mine['id']}")
        gone = await a.get(f"/v1/connections/{mine['id']}")
    assert read.status_code == 404 and read.json()["error"]["code"] == "not_found"
    assert deleted.status_code == 404
    assert listed.json()["meta"]["total"] == 0
    assert same_name.status_code == 201  # names are unique per tenant only
    assert still_there.status_code == 200
    assert deleted_by_owner.status_code == 200 and deleted_by_owner.json()["data"]["deleted"] is True
    assert gone.status_code == 404
    assert await relay.store.get_secret(tenant_b, "API_TOKEN") == "b's own"
    assert await relay.store.get_secret(tenant_a, "API_TOKEN") is None
    assert await relay.store.get_connection(tenant_b, "secret", mine["id"]) is None


async def test_connections_need_an_admin_key(relay):
    _, key = await relay.tenant(None, "write:workflows", "read:workflows", "write:instances")
    async with relay.http(key) as http:
        listed = await http.get("/v1/connections")
        created = await http.post("/v1/connections", json={"name": "x", "type": "secret", "secrets": {"value": "v"}})
    assert listed.status_code == 403 and created.status_code == 403
    assert created.json()["error"]["code"] == "insufficient_permissions"


def test_the_secret_key_dev_keeps_test_fixes_and_others_must_set(tmp_path):
    from app.config import Settings
    from app.crypto import SecretKeyMissing, decrypt_json, encrypt_json, load_or_create_dev_key

    first = load_or_create_dev_key(tmp_path)
    assert load_or_create_dev_key(tmp_path) == first and len(first) >= 40
    assert oct((tmp_path / "secret-key").stat().st_mode & 0o777) == "0o600"

    token = encrypt_json(Settings(env="dev", secret_key=first), {"value": SECRET})
    assert SECRET not in token
    assert decrypt_json(Settings(env="production", secret_key=first), token) == {"value": SECRET}
    with pytest.raises(Exception, match="cannot be decrypted"):
        decrypt_json(Settings(env="dev", secret_key="another key"), token)
    assert decrypt_json(Settings(env="test"), encrypt_json(Settings(env="test"), {"a": "b"})) == {"a": "b"}
    with pytest.raises(SecretKeyMissing):
        encrypt_json(Settings(env="dev", secret_key=None), {"a": "b"})
