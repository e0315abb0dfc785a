"""Drill 12: Relay's database restored from a dump (pg_dump -Fc / pg_restore, docs/operations.md
"Backups") while runs go on in Temporal: they complete, what was in the dump is back, what came after
it is gone, and the restored API triggers and replays idempotency keys again."""

from __future__ import annotations

import asyncio
import signal

import pytest

from tests.faults.harness import Drill, trigger_body
from tests.faults.private import PrivatePostgres, postgres_bin
from tests.faults.receivers import DrillReceiver

RUNS = 5

pytestmark = pytest.mark.skipif(postgres_bin() is None, reason="PostgreSQL's server binaries (initdb, pg_ctl, "
                                "pg_dump) are not installed: the drill restores into a cluster of its own")


async def test_relay_database_restored_from_a_dump_while_runs_continue_in_temporal(drill: Drill, tmp_path):
    with PrivatePostgres(tmp_path) as pg:
        drill.env["RELAY_DATABASE_URL"] = pg.url
        await drill.start_all(workers=1)
        async with DrillReceiver() as receiver:
            kept = await drill.create_workflow([
                {"$kind": "Block", "type": "delay", "id": "nap", "inputs": {"duration": "2s"}},
                {"$kind": "Action", "id": "call", "type": "webhook",
                 "retry": {"max_attempts": 10, "initial_interval": "200ms", "backoff": 2.0, "max_interval": "1s"},
                 "input": {"url": f"{receiver.url}/done", "body": {"n": "{{trigger.data.n}}"}}}])
            first = [await drill.trigger(kept, {"n": n}, idempotency_key=f"before-{n}") for n in range(RUNS)]
            dump = await asyncio.to_thread(pg.dump)  # the nightly backup, taken while the runs sleep
            dump_bytes = dump.stat().st_size
            lost = await drill.create_workflow([{"$kind": "Block", "type": "delay", "id": "x",
                                                 "inputs": {"duration": "0s"}}])
            await asyncio.to_thread(drill.stop, drill.api, signal.SIGTERM)  # the restore: API stopped,
            await asyncio.to_thread(pg.restore, dump)                        # database replaced,
            await drill.start_api()                                          # API started; workers untouched
            done = [await drill.wait_for_status(i["id"], timeout=60) for i in first]
            async with drill.http() as http:
                kept_again = (await http.get(f"/v1/workflows/{kept}")).status_code
                lost_again = (await http.get(f"/v1/workflows/{lost}")).status_code
                replay = await http.post(f"/v1/workflows/{kept}/trigger", content=trigger_body({"n": 0}),
                                         headers={"Idempotency-Key": "before-0", "Content-Type": "application/json"})
            fresh = await drill.trigger(kept, {"n": RUNS}, idempotency_key="after")
            await drill.wait_for_status(fresh["id"], timeout=60)
            completed = await drill.wait_for_count(kept, "Completed", RUNS + 1, timeout=30)
        seen = sorted(r.json()["n"] for r in receiver.requests)

    summary = (f"restore: dump {dump_bytes} bytes taken with {RUNS} runs asleep; "
               f"after the restore the runs ended {[d['status'] for d in done]}; workflow in the dump GET "
               f"{kept_again}, workflow created after the dump GET {lost_again}; a pre-dump key replayed "
               f"{replay.status_code} replayed={replay.headers.get('idempotent-replayed')} same instance="
               f"{replay.json().get('data', {}).get('id') == first[0]['id']}; a new trigger completed; "
               f"receiver saw n={seen}; visibility completed={completed}")
    print(summary)
    assert [d["status"] for d in done] == ["completed"] * RUNS, summary
    assert (kept_again, lost_again) == (200, 404), summary
    assert replay.status_code == 201 and replay.json()["data"]["id"] == first[0]["id"], summary
    assert seen == list(range(RUNS + 1)) and completed == RUNS + 1, summary
