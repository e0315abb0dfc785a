"""Setting a tenant's quotas the way a host product does: PATCH /v1/tenants/{id} with a platform key."""

from __future__ import annotations

from typing import Any

SLOW = {"workflow_blocks": [{"$kind": "Block", "type": "delay", "id": "d", "inputs": {"duration": "120s"}}]}
QUICK = {"workflow_blocks": [{"$kind": "Block", "type": "delay", "id": "d", "inputs": {"duration": "0s"}}]}


async def set_quotas(relay, tenant_id: str, quotas: dict[str, Any], key: str | None = None) -> None:
    async with relay.http(key or await relay.platform_key()) as platform:
        answer = await platform.patch(f"/v1/tenants/{tenant_id}", json={"quotas": quotas})
    assert answer.status_code == 200, answer.text
    assert {name: answer.json()["data"]["quotas"][name] for name in quotas} == quotas
