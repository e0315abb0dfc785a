"""Waiting on a run through the API."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx


async def wait_for_status(http: httpx.AsyncClient, instance_id: str, statuses: set[str],
                          timeout: float = 30) -> dict[str, Any]:
    """Poll GET /v1/instances/{id} until the run reaches one of `statuses`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        response = await http.get(f"/v1/instances/{instance_id}")
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        if data["status"] in statuses:
            return data
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"instance stayed {data['status']}: {data}")
        await asyncio.sleep(0.1)
