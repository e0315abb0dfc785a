"""The maintenance schedule: created once however often workers start, visible in Temporal, and its
run prunes rows past their window (app/services/maintenance.py) while keeping the rest."""

from __future__ import annotations

import asyncio
from datetime import timedelta

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


async def test_reconcile_gives_a_scheduled_workflow_its_lost_schedule_and_deletes_an_orphan(relay):
    from temporalio.service import RPCError

    from app.db.repo import workflows as workflow_rows
    from app.services.schedules import schedule_id

    tenant_id, key = await relay.tenant()
    body = {"trigger_type": "schedule", "trigger_configuration": {"interval": "1h"},
            "workflow_blocks": [{"$kind": "Block", "type": "delay", "id": "d", "inputs": {"duration": "0s"}}]}
    async with relay.http(key) as http:
        lost = (await http.post("/v1/workflows", json=body | {"name": "lost schedule"})).json()["data"]["id"]
        orphan = (await http.post("/v1/workflows", json=body | {"name": "orphan"})).json()["data"]["id"]
    await relay.client.get_schedule_handle(schedule_id(tenant_id, lost)).delete()  # Temporal lost it
    async with relay.sessions() as session:  # the database lost the other one (say, restored from a dump)
        row = await workflow_rows.get_workflow(session, tenant_id=tenant_id, workflow_id=orphan)
        assert row is not None
        await workflow_rows.delete_workflow(session, row=row)
    done = {"created": 0, "deleted": 0}
    for _ in range(50):  # the schedule list is eventually consistent
        step = await maintenance.reconcile_schedules(relay.sessions, relay.client, relay.settings,
                                                     orphan_after=timedelta(0))
        done = {k: done[k] + step[k] for k in done}
        if done["deleted"]:
            break
        await asyncio.sleep(0.2)
    back = await relay.client.get_schedule_handle(schedule_id(tenant_id, lost)).describe()
    try:
        await relay.client.get_schedule_handle(schedule_id(tenant_id, orphan)).describe()
        orphan_left = True
    except RPCError:
        orphan_left = False
    print(f"reconcile: {done}; the lost schedule is back every {back.schedule.spec.intervals[0].every}; "
          f"orphan left={orphan_left}")
    assert done["created"] >= 1 and done["deleted"] == 1 and not orphan_left
    await relay.client.get_schedule_handle(schedule_id(tenant_id, lost)).delete()
