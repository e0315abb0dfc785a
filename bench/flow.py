"""The cost of flow control's admission (SPEC §2.7, docs/flow-control.md).

    .venv/bin/python bench/flow.py [--runs 60] [--throttle-limit 20] [--throttle-starts 200] [--rounds 2]

One dev server, `relay api` and `relay worker` as their own processes (SQLite, RELAY_ENV=test), a
local HTTP receiver in this process. Three workflows with the same one `webhook` step:

  plain        no flow_control
  concurrency  concurrency limit 1000, one key: never full, so every start is admitted at once and
               the figure is the admission round trip (API enqueue → RelayFlowGate → admit signal →
               the run unmarks itself queued) on top of the plain start
  throttle     throttle --throttle-limit per 1 s: --throttle-starts fired 20 at a time; the steps
               should reach the receiver at the limit (the gate admits at most the limit in any
               1 s; the receiver sees the admitted runs' steps after their own latency, so it can
               see a window with more when runs admitted late in one window are slow to run), and
               the same starts without flow control give the machine's ceiling

Start-to-running latency: from just before POST …/trigger to the step's request at the receiver,
one start at a time (p50/p90/p99). Throughput: the receiver's arrivals per second through the
throttle once it is saturated, and the most arrivals seen in any 1 s window.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, header, load_average, percentile, stack

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from tests.receivers import HttpReceiver


def blocks(url: str) -> list[dict]:
    return [{"$kind": "Action", "id": "call", "type": "webhook", "timeout": "5s",
             "input": {"url": url, "body": {"i": "{{trigger.data.i}}", "kind": "{{trigger.data.kind}}"}}}]


async def latency(http, receiver: HttpReceiver, workflow_id: str, kind: str, runs: int) -> list[float]:
    samples = []
    for i in range(runs):
        seen = len(receiver.requests)
        sent = time.monotonic()
        answer = await http.post(f"/v1/workflows/{workflow_id}/trigger", json={"data": {"i": i, "kind": kind}})
        assert answer.status_code == 201, answer.text
        deadline = time.monotonic() + 30
        while len(receiver.requests) == seen:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{kind} run {answer.json()['data']['id']} never reached the receiver")
            await asyncio.sleep(0.001)
        samples.append((receiver.requests[seen].at - sent) * 1000)
    return samples


async def throughput(http, receiver: HttpReceiver, workflow_id: str, starts: int) -> tuple[float, int, float]:
    seen = len(receiver.requests)
    began = time.monotonic()
    sem = asyncio.Semaphore(20)

    async def one(i: int) -> None:
        async with sem:
            answer = await http.post(f"/v1/workflows/{workflow_id}/trigger", json={"data": {"i": i, "kind": "t"}})
            assert answer.status_code == 201, answer.text

    await asyncio.gather(*(one(i) for i in range(starts)))
    accepted = starts / (time.monotonic() - began)
    for _ in range(2400):  # at most 2 minutes
        if len(receiver.requests) >= seen + starts:
            break
        await asyncio.sleep(0.05)
    arrivals = sorted(r.at for r in receiver.requests[seen:])
    busiest = max(bisect.bisect_left(arrivals, at + 1.0) - n for n, at in enumerate(arrivals))
    rate = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
    return rate, busiest, accepted


def line(name: str, samples: list[float]) -> str:
    return (f"  {name:14} {len(samples):5d} {percentile(samples, .5):8.1f} {percentile(samples, .9):8.1f} "
            f"{percentile(samples, .99):8.1f} {statistics.mean(samples):8.1f}")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--throttle-limit", type=int, default=20)
    parser.add_argument("--throttle-starts", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    header(sys.argv)
    import httpx

    async with stack() as running, HttpReceiver() as receiver:
        await running.start_api()
        await running.start_worker()
        _, key = running.create_key()
        async with httpx.AsyncClient(base_url=running.api_url, headers={"Authorization": f"Bearer {key}"},
                                     timeout=60) as http:
            ids = {}
            for kind, flow in (("plain", None), ("concurrency", {"concurrency": {"limit": 1000}}),
                               ("throttle", {"throttle": {"limit": args.throttle_limit, "period": "1s"}})):
                created = await http.post("/v1/workflows", json={
                    "name": f"bench {kind}", "max_triggers_per_day": None, "workflow_blocks": blocks(receiver.url),
                    **({"flow_control": flow} if flow else {})})
                assert created.status_code == 201, created.text
                ids[kind] = created.json()["data"]["id"]
            print("workflows created; warming up", flush=True)
            try:
                await latency(http, receiver, ids["plain"], "plain", 5)  # warm up
                await latency(http, receiver, ids["concurrency"], "concurrency", 5)
                results: dict[str, list[float]] = {"plain": [], "concurrency": []}
                for round_ in range(args.rounds):
                    order = ["plain", "concurrency"] if round_ % 2 == 0 else ["concurrency", "plain"]
                    for kind in order:
                        results[kind] += await latency(http, receiver, ids[kind], kind, args.runs)
                print("latency measured", flush=True)
                rate, busiest, accepted = await throughput(http, receiver, ids["throttle"], args.throttle_starts)
                base_rate, _, _ = await throughput(http, receiver, ids["plain"], args.throttle_starts)
            except (RuntimeError, ValueError):
                for name in ("worker", "api"):
                    print(name, running.log(name).read_text()[-3000:])
                raise
    print("\nstart-to-running latency (POST …/trigger sent → the step's request at the receiver), one at a time")
    print(f"  {'':14} {'runs':>5} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
    print(line("plain", results["plain"]))
    print(line("concurrency", results["concurrency"]))
    added = percentile(results["concurrency"], .5) - percentile(results["plain"], .5)
    print(f"  added by admission: p50 {added:+.1f} ms")
    print(f"\nthrottle {args.throttle_limit}/1s, {args.throttle_starts} starts fired 20 at a time "
          f"(accepted by the API at {accepted:.0f} starts/s)")
    print(f"  runs started through the throttle: {rate:.1f}/s (limit {args.throttle_limit}/s); "
          f"most steps reaching the receiver in any 1 s window: {busiest}")
    print(f"  the same starts without flow control: {base_rate:.1f}/s (this machine's ceiling at the moment)")
    print(f"load average at the end: {load_average()}")


if __name__ == "__main__":
    from common import run_then_exit

    run_then_exit(main())
