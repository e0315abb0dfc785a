"""Setting a tenant's quotas the way a host product does: PATCH /v1/tenants/{id} with a platform key."""

from __future__ import annotations

from typing import Any

from app.db.session import make_engine, make_sessionmaker
from app.services.keys import create_key

SLOW = {"workflow_blocks": [{"$kind": "Block", "type": "delay", "id": "d", "inputs": {"duration": "120s"}}]}
QUICK = {"workflow_blocks": [{"$kind": "Block", "type": "delay", "id": "d", "inputs": {"duration": "0s"}}]}


async def platform_key(relay) -> str:
    engine = make_engine(relay.settings.database_url)
    async with make_sessionmaker(engine)() as session:
        _, key = await create_key(session, tenant_id=None, scopes=["platform"], name="host")
    await engine.dispose()
    return key


async def set_quotas(relay, tenant_id: str, quotas: dict[str, Any], key: str | None = None) -> None:
    async with relay.http(key or await platform_key(relay)) as platform:
        answer = await platform.patch(f"/v1/tenants/{tenant_id}", json={"quotas": quotas})
    assert answer.status_code == 200, answer.text
    assert {name: answer.json()["data"]["quotas"][name] for name in quotas} == quotas
