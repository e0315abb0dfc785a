"""Drill 10: the Redis of RELAY_REDIS_URL stops while requests arrive, then comes back.

Relay is fail-open to local limits (docs/operations.md, "Redis"): while Redis is away each API
process counts requests by itself, so limits still hold per process; nothing answers 500.
The machine's Redis is shared, so the drill stops a redis-server of its own (tests/faults/private.py).
"""

from __future__ import annotations

import asyncio
import shutil
from collections import Counter

import pytest

from tests.faults.harness import Drill
from tests.faults.private import PrivateRedis

LIMIT = 30

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None,
                                reason="no redis-server on PATH: the drill stops a Redis of its own")


async def burst(drill: Drill, key: str, n: int) -> Counter[str]:
    async with drill.http() as http:
        http.headers["Authorization"] = f"Bearer {key}"
        answers = await asyncio.gather(*(http.get("/v1/workflows") for _ in range(n)))
    return Counter(f"{a.status_code} {a.json().get('error', {}).get('code', '')}".strip() for a in answers)


async def test_redis_stopped_under_requests_limits_go_local_and_nothing_answers_500(drill: Drill, tmp_path):
    with PrivateRedis(tmp_path) as redis:
        drill.env |= {"RELAY_REDIS_URL": redis.url, "RELAY_RATE_LIMIT": f"{LIMIT}/minute"}
        await drill.start_temporal()
        first = await drill.create_key()
        second = await drill.create_key()
        await drill.start_api()
        up = await burst(drill, first, 20)
        shared = await asyncio.to_thread(redis.keys, "relay-rl*")
        redis.stop()
        down_first = await burst(drill, first, 20)   # local count starts at 0: all 20 pass
        down_second = await burst(drill, second, LIMIT + 5)   # the local limit holds: 30 pass, 5 are 429
        redis.start()
        await asyncio.sleep(1.2)  # REDIS_RETRY_AFTER: the API asks Redis again
        back = sum([await burst(drill, first, 1) for _ in range(5)], Counter())
        shared_after = await asyncio.to_thread(redis.keys, "relay-rl*")
        async with drill.http() as http:
            ready = (await http.get("/readyz")).status_code
    log = (drill.tmp / "api.log").read_text()
    summary = (f"redis down: limit {LIMIT}/minute; Redis up: {dict(up)} (keys in Redis {shared}); Redis stopped: "
               f"first key {dict(down_first)}, second key {dict(down_second)}; Redis back: {dict(back)} "
               f"(keys in Redis {shared_after}); /readyz {ready}; logged fallback="
               f"{'ratelimit.redis_unavailable' in log} back={'ratelimit.redis_back' in log}")
    print(summary)
    everything = up + down_first + down_second + back
    assert set(everything) <= {"200", "429 rate_limited"}, summary  # never a 500
    assert up == {"200": 20} and shared >= 1, summary
    assert down_first == {"200": 20}, summary  # fail-open: served, counted locally
    assert down_second == {"200": LIMIT, "429 rate_limited": 5}, summary  # ...and the local limit holds
    assert back == {"200": 5} and shared_after >= 1, summary  # counting in Redis again
    assert ready == 200, summary
