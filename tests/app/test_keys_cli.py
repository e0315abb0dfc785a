"""`relay keys list --platform | --tenant` and `relay keys revoke <key id>`: the server's operator
sees the keys (never a key itself) and revokes one; it answers 401 at once."""

from __future__ import annotations

import asyncio

import pytest

from app.cli import main


async def relay_cli(capsys, *argv: str) -> list[str]:
    await asyncio.to_thread(main, list(argv))
    return capsys.readouterr().out.strip().splitlines()


@pytest.fixture
def on_relay_database(relay, monkeypatch):
    monkeypatch.setenv("RELAY_DATABASE_URL", relay.settings.database_url)
    monkeypatch.setenv("RELAY_ENV", "test")


@pytest.mark.usefixtures("on_relay_database")
async def test_list_and_revoke_a_platform_key(relay, capsys):
    key = (await relay_cli(capsys, "keys", "create", "--platform", "--name", "crm-prod"))[-1]
    other = (await relay_cli(capsys, "keys", "create", "--platform", "--name", "crm-staging"))[-1]
    listed = await relay_cli(capsys, "keys", "list", "--platform")
    rows = {line.split("\t")[1]: line.split("\t") for line in listed[1:]}
    key_id = rows["crm-prod"][0]
    async with relay.http(key) as http:
        before = await http.get("/v1/tenants")
    revoked = await relay_cli(capsys, "keys", "revoke", key_id)
    async with relay.http(key) as http, relay.http(other) as still:
        after, other_after = await http.get("/v1/tenants"), await still.get("/v1/tenants")
    relisted = await relay_cli(capsys, "keys", "list", "--platform")
    with pytest.raises(SystemExit) as again:
        await relay_cli(capsys, "keys", "revoke", key_id)

    assert listed[0] == "id\tname\tprefix\tcreated_at" and key_id.startswith("key_")
    assert rows["crm-prod"][2] == key[:8] and key not in "\n".join(listed) and other not in "\n".join(listed)
    assert before.status_code == 200
    assert revoked == [f"revoked platform key {key_id} (crm-prod): it answers 401 from now on"]
    assert after.status_code == 401 and after.json()["error"]["code"] == "invalid_key"
    assert other_after.status_code == 200  # only the one revoked
    assert key_id not in "\n".join(relisted) and "crm-staging" in "\n".join(relisted)
    assert key_id in str(again.value) and "not revoked already" in str(again.value)


@pytest.mark.usefixtures("on_relay_database")
async def test_list_and_revoke_a_tenant_key(relay, capsys):
    tenant_id, admin = await relay.tenant()
    listed = await relay_cli(capsys, "keys", "list", "--tenant", tenant_id)
    [key_id] = [line.split("\t")[0] for line in listed[1:]]
    await relay_cli(capsys, "keys", "revoke", key_id)
    async with relay.http(admin) as http:
        after = await http.get("/v1/workflows")
    with pytest.raises(SystemExit) as unknown:
        await relay_cli(capsys, "keys", "list", "--tenant", "no-such-tenant")

    assert after.status_code == 401
    assert "no tenant named 'no-such-tenant'" in str(unknown.value)
