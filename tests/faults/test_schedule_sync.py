"""Drill 8: creating or changing a schedule-triggered workflow while Temporal is down changes nothing
(503 temporal_unavailable); the client's retry once Temporal is back succeeds and the schedule exists."""

from __future__ import annotations

import signal
import sqlite3
import time

from app.services.schedules import schedule_id
from tests.faults.harness import Drill

EVERY_HOUR = {"interval": "1h"}


def rows(drill: Drill, name: str) -> list[tuple]:
    with sqlite3.connect(drill.tmp / "relay.db") as db:
        return db.execute("SELECT id, latest_version FROM workflows WHERE name = ?", (name,)).fetchall()


async def test_schedule_create_and_patch_with_temporal_down_are_refused_whole_and_the_retry_succeeds(drill: Drill):
    await drill.start_all(workers=0)
    body = {"name": "nightly", "trigger_type": "schedule", "trigger_configuration": EVERY_HOUR,
            "workflow_blocks": [{"$kind": "Block", "type": "delay", "id": "nap", "inputs": {"duration": "0s"}}]}
    async with drill.http(timeout=60) as http:
        kept = await http.post("/v1/workflows", json=body | {"name": "kept"})
        assert kept.status_code == 201, kept.text
        kept_id = kept.json()["data"]["id"]

        drill.stop_temporal(signal.SIGINT)
        began = time.monotonic()
        refused = await http.post("/v1/workflows", json=body)
        patched = await http.patch(f"/v1/workflows/{kept_id}", json={"trigger_configuration": {"interval": "2h"}})
        took = time.monotonic() - began
        left_behind, kept_rows = rows(drill, "nightly"), rows(drill, "kept")

        await drill.start_temporal()
        retried = await http.post("/v1/workflows", json=body)
        repatched = await http.patch(f"/v1/workflows/{kept_id}", json={"trigger_configuration": {"interval": "2h"}})
    client = await drill.client()
    created_id = retried.json()["data"]["id"] if retried.status_code == 201 else None
    schedule = (await client.get_schedule_handle(schedule_id(drill.tenant_id, created_id)).describe()
                if created_id else None)
    kept_schedule = await client.get_schedule_handle(schedule_id(drill.tenant_id, kept_id)).describe()
    every = kept_schedule.schedule.spec.intervals[0].every
    summary = (f"schedule sync with Temporal down: create {refused.status_code} "
               f"{refused.json().get('error', {}).get('code')}, patch {patched.status_code} (both in {took:.1f}s); "
               f"rows left by the refused create={left_behind}; kept workflow's versions={kept_rows}; after Temporal "
               f"is back: retry create {retried.status_code}, retry patch {repatched.status_code}, "
               f"schedule created={schedule is not None}, kept schedule every={every}")
    print(summary)
    assert refused.status_code == 503 and refused.json()["error"]["code"] == "temporal_unavailable", summary
    assert patched.status_code == 503 and patched.json()["error"]["code"] == "temporal_unavailable", summary
    assert left_behind == [], summary  # before the fix: the row was committed, and the retry got 409
    assert [v for _, v in kept_rows] == [1], summary  # the refused PATCH made no version 2
    assert retried.status_code == 201 and repatched.status_code == 200, summary
    assert schedule is not None and every.total_seconds() == 7200, summary
