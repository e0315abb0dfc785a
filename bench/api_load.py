"""API reads under load: GET /v1/instances/{id} and GET /v1/workflows at 50 concurrent clients.

    .venv/bin/python bench/api_load.py [--seconds 10] [--connections 50] [--workflows 20] [--tool wrk|httpx]

One dev server; `relay api` and `relay worker` as their own processes (RELAY_ENV=test, SQLite).
The HTTP load comes from wrk (Debian package `wrk`, one thread, loopback only) when it is
installed, else from an asyncio+httpx loop in this process. Each target's plain twin makes the
same Temporal calls the endpoint makes, from this process, at the same concurrency:

  instance (running)    GET /v1/instances/{id} of a run asleep in a delay
                        twin: describe() + query("state")           (app/services/runs.get_instance)
  instance (completed)  the same for a finished run
                        twin: describe() + result()
  workflows             GET /v1/workflows: a page of --workflows workflows, each with a few runs
                        twin: per workflow count_workflows(GROUP BY ExecutionStatus) + list_workflows(limit=1),
                        uncached (Relay keeps the counts 5 s per process and fetches each once at a time)
  healthz               GET /healthz: the ceiling of the HTTP stack and the load tool (no twin)
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CpuMeter, Sample, drive, header, load_average, stack

ASLEEP = [{"$kind": "Block", "type": "delay", "id": "nap", "inputs": {"duration": "1h"}}]
QUICK = [{"$kind": "Block", "type": "delay", "id": "nap", "inputs": {"duration": "0s"}}]


def wrk(url: str, key: str, connections: int, seconds: float, meter: CpuMeter) -> Sample:
    """One wrk run; its latency percentiles become a Sample's (p50, p90, p99 only)."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{int(seconds)}s", "--latency", "--timeout", "30s",
               "-H", f"Authorization: Bearer {key}", url]
    meter.start()
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    cpu = meter.stop()
    unit = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}

    def seconds_of(text: str) -> float:
        number, suffix = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
        return float(number) * unit[suffix]

    # wrk pads some values with a space ("3.18s ")
    percentiles = {int(p): seconds_of(v) for p, v in re.findall(r"^\s+(\d+)%\s+(\S+)\s*$", out, re.M)}
    if len(percentiles) < 4:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    total = int(re.search(r"(\d+) requests in", out).group(1))
    duration = seconds_of(re.search(r"requests in ([\d.]+\w+),", out).group(1))
    errors = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(int(x) for x in m.groups())
    # a stand-in distribution with the reported percentiles at the right ranks, for Sample.ms()
    latencies = sorted([percentiles[50]] * 50 + [percentiles[75]] * 25 + [percentiles[90]] * 15
                       + [percentiles[99]] * 10)
    sample = Sample("wrk", latencies=latencies, seconds=duration, errors=errors, cpu=cpu)
    sample.total = total  # type: ignore[attr-defined]
    return sample


def requests_of(sample: Sample) -> int:
    return getattr(sample, "total", sample.count)


async def main(args: argparse.Namespace) -> None:
    import httpx

    tool = args.tool or ("wrk" if shutil.which("wrk") else "httpx")
    header(sys.argv)
    print(f"load tool: {tool}")
    async with stack() as running:
        await running.start_api()
        await running.start_worker()
        _, key = running.create_key()
        limits = httpx.Limits(max_connections=args.connections, max_keepalive_connections=args.connections)
        async with httpx.AsyncClient(base_url=running.api_url, headers={"Authorization": f"Bearer {key}"},
                                     timeout=60, limits=limits) as http:
            workflows = []
            for index in range(args.workflows):
                created = await http.post("/v1/workflows", json={
                    "name": f"bench-{index}", "max_triggers_per_day": None,
                    "workflow_blocks": QUICK if index % 2 else ASLEEP})
                assert created.status_code == 201, created.text
                workflows.append(created.json()["data"])
            triggered = []
            for workflow in workflows:
                for _ in range(args.runs_per_workflow):
                    response = await http.post(f"/v1/workflows/{workflow['id']}/trigger", json={"data": {}})
                    assert response.status_code == 201, response.text
                    triggered.append((workflow, response.json()["data"]))
            asleep = next(i for w, i in triggered if int(w["name"].split("-")[1]) % 2 == 0)  # ASLEEP
            done = next(i for w, i in triggered if int(w["name"].split("-")[1]) % 2 == 1)  # QUICK
            for _ in range(100):  # the quick run completes; the other one sleeps
                if (await http.get(f"/v1/instances/{done['id']}")).json()["data"]["status"] == "completed":
                    break
                await asyncio.sleep(0.2)
            print(f"  {len(workflows)} workflows, {len(triggered)} runs; load {load_average()}", flush=True)

            client = running.client

            async def twin_instance(temporal_id: str, completed: bool) -> None:
                from workflows.models import RunState

                handle = client.get_workflow_handle(temporal_id, result_type=RunState)
                await handle.describe()
                await (handle.result() if completed else handle.query("state", result_type=RunState))

            async def twin_workflows() -> None:
                from app.services.runs import _fetch_stats  # the raw calls, without Relay's 5 s cache

                tenant = asleep["temporal"]["workflow_id"].split(":", 1)[0]
                await asyncio.gather(*(_fetch_stats(client, tenant_id=tenant, workflow_id=w["id"])
                                       for w in workflows[:20]))

            targets: list[tuple[str, str, Any]] = [
                ("instance (running)", f"/v1/instances/{asleep['id']}",
                 lambda _: twin_instance(asleep["temporal"]["workflow_id"], False)),
                ("instance (completed)", f"/v1/instances/{done['id']}",
                 lambda _: twin_instance(done["temporal"]["workflow_id"], True)),
                ("workflows", "/v1/workflows", lambda _: twin_workflows()),
                ("healthz", "/healthz", None),
            ]
            meter = CpuMeter(api=running.api.pid, temporal=running.temporal.pid, worker=running.worker.pid)
            rows = []
            for name, path, twin in targets:
                ok = await http.get(path)
                assert ok.status_code == 200, ok.text
                plain = None
                if twin is not None:
                    await drive("warm", twin, count=20, concurrency=5)
                    plain = await drive(name, twin, seconds=args.seconds, concurrency=args.connections, meter=meter)
                if tool == "wrk":
                    relay = await asyncio.to_thread(wrk, running.api_url + path, key, args.connections,
                                                    args.seconds, meter)
                else:
                    async def get(_: int, path: str = path) -> None:
                        (await http.get(path)).raise_for_status()
                    relay = await drive(name, get, seconds=args.seconds, concurrency=args.connections, meter=meter)
                rows.append((name, relay, plain))
                print(f"  {name}: relay {requests_of(relay) / relay.seconds:.1f}/s p99 {relay.ms(.99):.1f} ms"
                      + (f"; plain {plain.rate:.1f}/s p99 {plain.ms(.99):.1f} ms" if plain else "")
                      + f"  load {load_average()}", flush=True)

    print(f"\n{args.connections} concurrent clients, {args.seconds:.0f}s per target and kind, load tool {tool}")
    print(f"  {'':22} {'kind':6} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'errors':>7} "
          f"{'API CPU ms/req':>15} {'server CPU ms/req':>18}")
    for name, relay, plain in rows:
        for kind, s in (("plain", plain), ("relay", relay)):
            if s is None:
                continue
            count = requests_of(s)
            print(f"  {name:22} {kind:6} {count / s.seconds:8.1f} {s.ms(.5):8.1f} {s.ms(.9):8.1f} {s.ms(.99):8.1f} "
                  f"{s.errors:7d} {1000 * s.cpu.get('api', 0) / count:15.2f} "
                  f"{1000 * s.cpu.get('temporal', 0) / count:18.2f}")
        if plain is not None:
            print(f"  {'':22} ratio relay/plain req/s: {requests_of(relay) / relay.seconds / plain.rate:.2f}")
    print(f"\nload average at the end: {load_average()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10, help="seconds per target and kind (10)")
    parser.add_argument("--connections", type=int, default=50, help="concurrent clients (50)")
    parser.add_argument("--workflows", type=int, default=20, help="workflows in the tenant: one page (20)")
    parser.add_argument("--runs-per-workflow", type=int, default=3, help="runs triggered per workflow (3)")
    parser.add_argument("--tool", choices=("wrk", "httpx"), help="load tool (default: wrk when installed, else httpx)")
    from common import run_then_exit

    run_then_exit(main(parser.parse_args()))
