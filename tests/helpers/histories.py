"""A tenant's Temporal histories as searchable text."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
from typing import Any


def decoded_strings(value: Any) -> list[str]:
    """Every string inside `value` that is base64, decoded (payload data in history JSON)."""
    found: list[str] = []
    if isinstance(value, dict):
        for item in value.values():
            found += decoded_strings(item)
    elif isinstance(value, list):
        for item in value:
            found += decoded_strings(item)
    elif isinstance(value, str) and len(value) >= 4:
        with contextlib.suppress(binascii.Error, ValueError):
            found.append(base64.b64decode(value, validate=True).decode("utf-8", errors="replace"))
    return found


async def tenant_histories(relay, tenant_id: str) -> dict[str, str]:
    """The whole history of every execution of the tenant (runs, retries, dry runs), payloads decoded."""
    texts: dict[str, str] = {}
    async for execution in relay.client.list_workflows(f"RelayTenant = '{tenant_id}'"):
        history = await relay.client.get_workflow_handle(execution.id, run_id=execution.run_id).fetch_history()
        raw = history.to_json()
        texts[f"{execution.id}/{execution.run_id}"] = raw + "\n" + "\n".join(decoded_strings(json.loads(raw)))
    return texts
