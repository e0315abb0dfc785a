"""Workflow stats under load: requests that find the cached counts stale share one visibility fetch."""

from __future__ import annotations

import asyncio

from app.services import runs


async def test_concurrent_stale_reads_share_one_fetch_and_then_the_cache(temporal_env, monkeypatch):
    calls: list[str] = []
    real_fetch = runs._fetch_stats

    async def counted(client, *, tenant_id, workflow_id):
        calls.append(workflow_id)
        return await real_fetch(client, tenant_id=tenant_id, workflow_id=workflow_id)  # the real visibility calls

    monkeypatch.setattr(runs, "_fetch_stats", counted)
    client, tenant = temporal_env.client, "ten_statscache"
    results = await asyncio.gather(*(runs.workflow_stats(client, tenant_id=tenant, workflow_id="wf_a")
                                     for _ in range(25)))
    assert calls == ["wf_a"]
    assert all(r == results[0] for r in results) and results[0]["total_runs"] == 0
    await runs.workflow_stats(client, tenant_id=tenant, workflow_id="wf_a")  # within the TTL: cached
    assert calls == ["wf_a"]
    monkeypatch.setattr(runs, "STATS_TTL_SECONDS", 0.0)  # expired: one new fetch, shared again
    await asyncio.gather(*(runs.workflow_stats(client, tenant_id=tenant, workflow_id="wf_a") for _ in range(5)))
    assert calls == ["wf_a", "wf_a"]
    assert not runs._stats_fetches  # nothing left in flight
