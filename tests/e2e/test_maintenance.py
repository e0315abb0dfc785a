"""The maintenance schedule: created once however often workers start, visible in Temporal, and its
run prunes rows past their window (app/services/maintenance.py) while keeping the rest."""

from __future__ import annotations

import asyncio

from app.db.repo.maintenance import row_counts
from app.services import maintenance
from tests.helpers.synthetic import traffic

DAYS = 40  # alerts older than 30 days go too


async def test_the_maintenance_schedule_prunes_expired_rows_and_keeps_the_window(relay):
    tenant_id, _ = await relay.tenant()
    await traffic(relay.sessions, tenant_id=tenant_id, runs=DAYS * 10, days=DAYS, workflows=2)
    before = await _counts(relay)
    created = [await maintenance.ensure_schedule(relay.client, relay.settings) for _ in range(2)]
    handle = relay.client.get_schedule_handle(maintenance.schedule_id(relay.settings))
    described = await handle.describe()
    await handle.trigger()
    after = before
    for _ in range(100):
        await asyncio.sleep(0.2)
        after = await _counts(relay)
        if after["alerts"] < before["alerts"]:
            break
    runs = (await handle.describe()).info.num_actions
    print(f"maintenance: schedule created={created} every={described.schedule.spec.intervals[0].every} "
          f"runs={runs}; rows before={before} after={after}")
    assert created == [True, False]
    assert described.schedule.spec.intervals[0].every == maintenance.EVERY
    # idempotency records: today's (the last 24 h) stay; counters: today and yesterday; alerts: 30 days
    assert before["idempotency_keys"] - after["idempotency_keys"] == (DAYS - 1) * 10
    assert before["trigger_counters"] - after["trigger_counters"] == (DAYS - 2) * 2
    assert before["tenant_run_counters"] - after["tenant_run_counters"] == DAYS - 2
    assert before["alerts"] - after["alerts"] == DAYS - 30
    await handle.delete()


async def _counts(relay) -> dict[str, int]:
    async with relay.sessions() as session:
        return await row_counts(session)
