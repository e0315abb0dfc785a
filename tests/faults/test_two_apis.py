"""Drill 11: two `relay api` processes on one PostgreSQL and one Redis, requests spread over both.

The same Idempotency-Key sent to both at once starts one run; 50 triggers racing over both against a
circuit breaker of 10 start exactly 10; one key's rate limit is counted once across both.
(tests/app/test_requests_api.py shares a rate limit between two in-process apps on SQLite; this is
the deployment's shape: separate processes, PostgreSQL, Redis.)
"""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest

from tests.faults.harness import Drill, trigger_body
from tests.faults.private import PrivatePostgres, PrivateRedis, postgres_bin

KEYS = 10
RACERS = 50
BREAKER = 10
LIMIT = 100
JSON = {"Content-Type": "application/json"}

pytestmark = pytest.mark.skipif(postgres_bin() is None, reason="PostgreSQL's server binaries (initdb, pg_ctl) "
                                "are not installed: the drill needs a cluster of its own")


def code(response: httpx.Response) -> str:
    error = response.json().get("error", {}) if response.status_code >= 400 else {}
    return f"{response.status_code} {error.get('code', '')}".strip()


async def test_two_api_processes_one_run_per_key_exact_breaker_shared_limits(drill: Drill, tmp_path):
    with PrivatePostgres(tmp_path) as pg, PrivateRedis(tmp_path) as redis:
        drill.env |= {"RELAY_DATABASE_URL": pg.url, "RELAY_REDIS_URL": redis.url, "RELAY_RATE_LIMIT": f"{LIMIT}/minute"}
        await drill.start_temporal()
        limited_key = await drill.create_key()
        await drill.create_key()  # drill.key: the one the rest uses
        await drill.start_api()
        _, second_url = await drill.start_replica()
        nap = [{"$kind": "Block", "type": "delay", "id": "nap", "inputs": {"duration": "1h"}}]
        same_key = await drill.create_workflow(nap, max_triggers_per_day=None)
        breaker = await drill.create_workflow(nap, max_triggers_per_day=BREAKER)
        headers = {"Authorization": f"Bearer {drill.key}"}
        async with (httpx.AsyncClient(base_url=drill.url, headers=headers, timeout=60) as a,
                    httpx.AsyncClient(base_url=second_url, headers=headers, timeout=60) as b):
            pairs = await asyncio.gather(*(asyncio.gather(*(
                api.post(f"/v1/workflows/{same_key}/trigger", content=trigger_body({"n": n}),
                         headers=JSON | {"Idempotency-Key": f"both-{n}"}) for api in (a, b))) for n in range(KEYS)))
            racing = await asyncio.gather(*(
                (a if n % 2 else b).post(f"/v1/workflows/{breaker}/trigger", content=trigger_body({"n": n}),
                                         headers=JSON) for n in range(RACERS)))
            a.headers["Authorization"] = b.headers["Authorization"] = f"Bearer {limited_key}"
            limited = await asyncio.gather(*((a if n % 2 else b).get("/v1/alerts") for n in range(LIMIT + 10)))
        same_runs = await drill.count_runs(same_key)
        breaker_runs = await drill.count_runs(breaker)
        disabled = pg.psql(f"SELECT enabled, disabled_reason FROM workflows WHERE id = '{breaker}'")

    pair_codes = Counter(f"{code(x)}+{code(y)}" for x, y in pairs)
    same_ids = sum(x.json()["data"]["id"] == y.json()["data"]["id"] for x, y in pairs if x.status_code == 201 == y.status_code)
    replayed = sum(1 for pair in pairs for r in pair if r.headers.get("idempotent-replayed"))
    race = Counter(code(r) for r in racing)
    by_api = Counter(r.url.port for r in racing if r.status_code == 201)
    limits = Counter(code(r) for r in limited)
    fallbacks = sum(log.read_text(errors="replace").count("ratelimit.redis_unavailable")
                    for log in drill.tmp.glob("api*.log"))
    summary = (f"two apis: same key to both at once x{KEYS}: answers={dict(pair_codes)} same id in both={same_ids} "
               f"replays={replayed} runs={same_runs}; {RACERS} racing triggers vs breaker {BREAKER}: {dict(race)} "
               f"(201s per API port {dict(by_api)}) runs={breaker_runs} workflow (enabled|reason)={disabled}; "
               f"{LIMIT + 10} requests of one key over both at {LIMIT}/minute: {dict(limits)} (Redis fallbacks logged: "
               f"{fallbacks})")
    print(summary)
    assert pair_codes == {"201+201": KEYS} and same_ids == KEYS and replayed == KEYS, summary
    assert same_runs == KEYS, summary
    assert race == {"201": BREAKER, "409 workflow_disabled": RACERS - BREAKER}, summary
    assert breaker_runs == BREAKER and disabled == "f|circuit_breaker", summary
    assert limits == {"200": LIMIT, "429 rate_limited": 10}, summary
