"""Trigger path: POST /v1/workflows/{id}/trigger over HTTP vs. a raw client.start_workflow.

    .venv/bin/python bench/trigger.py [--latency-runs 300] [--runs 1000] [--concurrency 20] [--rounds 2] [--workers 1,2]
    .venv/bin/python bench/trigger.py --profile     # the API process under cProfile (relay side only)
    .venv/bin/python bench/trigger.py --breakdown   # the path's steps before start_workflow, timed in-process

One dev server, `relay api` as its own process (SQLite, RELAY_ENV=test), no worker: a start is
measured, not a run. Both kinds make the same StartWorkflowExecution call (RelayWorkflow, the same
RunInput shape, search attributes, id-reuse policy) against the same server:

  relay  POST /v1/workflows/{id}/trigger with httpx: auth (key hash lookup), rate limit,
         workflow + version reads, the circuit-breaker counter UPDATE, start_workflow, the JSON reply
  plain  client.start_workflow from the bench process

Latency is measured one call at a time (--latency-runs), starts/s with --concurrency in flight
(--runs). Two floors split the added latency: GET /healthz (HTTP + middleware, no DB) and
GET /v1/workflows/{id}/versions (plus auth, rate limit and two reads). Rounds alternate the order.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CpuMeter, Sample, Stack, drive, header, load_average, stack

BLOCKS = [{"$kind": "Block", "type": "delay", "id": "pause", "inputs": {"duration": "0s"}}]
TRIGGER_BODY = {"data": {"name": "Ada", "amount": 42}, "entity_type": "deal", "entity_id": "bench-1"}


class Twin:
    """The same start_workflow call the API makes (app/services/runs.start_run), made directly."""

    def __init__(self, running: Stack, tenant_id: str, workflow: dict[str, Any]) -> None:
        from workflows.definition import Definition

        self.client, self.task_queue, self.tenant_id, self.workflow = running.client, running.task_queue, tenant_id, workflow
        fields = ("trigger_type", "trigger_configuration", "trigger_constraints", "workflow_blocks")
        self.definition = Definition.model_validate({"name": workflow["name"],
                                                     **{k: workflow[k] for k in fields if k in workflow}})

    async def start(self, _: int) -> None:
        from temporalio.common import WorkflowIDReusePolicy

        from app.ids import new_id
        from app.temporal import run_summary, search_attributes, temporal_workflow_id
        from workflows.flow import run_priority
        from workflows.models import RunInput, TriggerInfo

        instance_id = new_id("inst")
        trigger = TriggerInfo(type="manual", entity=TRIGGER_BODY["entity_type"], entity_id=TRIGGER_BODY["entity_id"],
                              data=TRIGGER_BODY["data"], received_at=datetime.now(UTC))
        run = RunInput(tenant_id=self.tenant_id, instance_id=instance_id, workflow_id=self.workflow["id"],
                       workflow_name=self.workflow["name"], version=1, definition=self.definition, trigger=trigger)
        await self.client.start_workflow(
            "RelayWorkflow", run, id=temporal_workflow_id(self.tenant_id, instance_id), task_queue=self.task_queue,
            search_attributes=search_attributes(tenant_id=self.tenant_id, workflow_id=self.workflow["id"], version=1,
                                                trigger_type="manual", entity_id=trigger.entity_id),
            priority=run_priority(self.tenant_id, None), request_eager_start=True,
            static_summary=run_summary(name=self.workflow["name"], workflow_id=self.workflow["id"], version=1),
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)


def report(samples: dict[str, Sample], floors: dict[str, Sample]) -> None:
    print("\nlatency, one call at a time")
    print(f"  {'':28} {'calls':>6} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'API CPU ms':>11} {'server CPU ms':>14}")
    rows = [("plain start_workflow", samples["plain-latency"]), ("relay POST .../trigger", samples["relay-latency"]),
            ("floor GET /healthz", floors["healthz"]), ("floor GET .../versions", floors["versions"])]
    for name, s in rows:
        print(f"  {name:28} {s.count:6d} {s.ms(.5):8.2f} {s.ms(.9):8.2f} {s.ms(.99):8.2f} "
              f"{s.cpu_ms_per_call('api'):11.2f} {s.cpu_ms_per_call('temporal'):14.2f}")
    plain, relay = samples["plain-latency"], samples["relay-latency"]
    print(f"  added by Relay: p50 {relay.ms(.5) - plain.ms(.5):+.2f} ms, p99 {relay.ms(.99) - plain.ms(.99):+.2f} ms "
          f"(goal: <= 2 ms at p50, issue #19)")
    print("\nthroughput")
    print(f"  {'':28} {'starts':>6} {'starts/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'API CPU ms':>11} "
          f"{'server CPU ms':>14}")
    for name, s in (("plain start_workflow", samples["plain-rate"]), ("relay POST .../trigger", samples["relay-rate"])):
        print(f"  {name:28} {s.count:6d} {s.rate:9.1f} {s.ms(.5):8.1f} {s.ms(.99):8.1f} {s.errors:7d} "
              f"{s.cpu_ms_per_call('api'):11.2f} {s.cpu_ms_per_call('temporal'):14.2f}")
    print(f"  ratio relay/plain starts/s: {samples['relay-rate'].rate / samples['plain-rate'].rate:.2f}   "
          f"p50 latency ratio relay/plain: {relay.ms(.5) / plain.ms(.5):.2f}")


async def breakdown(running: Stack, key: str, workflow: dict[str, Any], count: int) -> None:
    """The steps of the trigger path (routers/workflows.trigger_workflow → triggering.start →
    runs.start_run) timed one by one in this process, on the API's own SQLite database."""
    import time

    from app.config import Settings
    from app.db.repo import start_rows as store
    from app.db.session import make_engine, make_sessionmaker
    from app.ratelimit import RateLimiter
    from app.services import triggering
    from app.services.keys import authenticate
    from workflows.definition import Definition

    settings = Settings(env="test", database_url=running.env["RELAY_DATABASE_URL"], rate_limit=running.env["RELAY_RATE_LIMIT"])
    engine = make_engine(settings.database_url)
    maker, limiter = make_sessionmaker(engine), RateLimiter(settings)
    steps: dict[str, list[float]] = {}

    cpu: dict[str, list[float]] = {}
    clock = [time.process_time()]

    def took(name: str, since: float) -> float:
        now, used = time.perf_counter(), time.process_time()
        steps.setdefault(name, []).append(now - since)
        cpu.setdefault(name, []).append(used - clock[0])
        clock[0] = used
        return now

    for _ in range(count):
        t, clock[0] = time.perf_counter(), time.process_time()
        async with maker() as session:
            t = took("session open", t)
            principal = await authenticate(session, key=key)
            t = took("authenticate (SELECT api_key)", t)
            await limiter.hit(principal.key_id)
            t = took("rate limit (memory)", t)
            row, version = await store.get_with_version(session, tenant_id=principal.tenant_id,
                                                        workflow_id=workflow["id"])
            t = took("get_with_version (SELECT … JOIN)", t)
            await triggering.take_slot(session, workflow=row)
            t = took("take_slot (upsert counter; COMMIT)", t)
            Definition.model_validate(version.definition)
            t = took("Definition.model_validate", t)
        took("session close (ROLLBACK)", t)
    await engine.dispose()
    print(f"\nbreakdown: the trigger path's steps before start_workflow, in-process, {count} times, one at a time")
    total = total_cpu = 0.0
    for name, values in steps.items():
        p50, used = statistics.median(values) * 1000, statistics.mean(cpu[name]) * 1000
        total, total_cpu = total + p50, total_cpu + used
        print(f"  {name:46} p50 {p50:6.2f} ms   CPU (all threads, mean) {used:5.2f} ms")
    print(f"  {'sum':46}     {total:6.2f} ms                           {total_cpu:5.2f} ms")


def profile_report(path: Path) -> None:
    import pstats

    stats = pstats.Stats(str(path))
    print(f"\n== cProfile of the API process -> {path}")
    stats.sort_stats("cumulative").print_stats(r"app/|sqlalchemy/(orm/session|engine/base)|aiosqlite|temporalio/client"
                                               r"|limits/|fastapi/routing|starlette/middleware|pydantic/main", 40)
    stats.sort_stats("tottime").print_stats(20)


async def main(args: argparse.Namespace) -> None:
    import httpx

    header(sys.argv)
    async with stack(**({"database_url": args.database_url} if args.database_url else {})) as running:
        profile_to = running.data_dir.parent / "relay-bench-trigger-api.prof" if args.profile else None
        await running.start_api(profile_to=profile_to)
        tenant_id, key = running.create_key()
        limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
        async with httpx.AsyncClient(base_url=running.api_url, headers={"Authorization": f"Bearer {key}"},
                                     timeout=30, limits=limits) as http:
            created = await http.post("/v1/workflows", json={"name": "bench-trigger", "workflow_blocks": BLOCKS,
                                                             "max_triggers_per_day": 1_000_000_000})
            assert created.status_code == 201, created.text
            workflow = created.json()["data"]
            twin = Twin(running, tenant_id, workflow)

            async def relay(_: int) -> None:
                response = await http.post(f"/v1/workflows/{workflow['id']}/trigger", json=TRIGGER_BODY)
                if response.status_code != 201:
                    raise RuntimeError(response.text)

            async def healthz(_: int) -> None:
                (await http.get("/healthz")).raise_for_status()

            async def versions(_: int) -> None:
                (await http.get(f"/v1/workflows/{workflow['id']}/versions")).raise_for_status()

            if args.breakdown:
                await breakdown(running, key, workflow, args.latency_runs)
                return
            meter = CpuMeter(api=running.api.pid, temporal=running.temporal.pid)
            calls = {"relay": relay, "plain": twin.start}
            for kind in ("plain", "relay"):  # warm-up: imports, connection pools, server caches
                await drive(kind, calls[kind], count=args.warmup, concurrency=min(5, args.concurrency))
            floors = {"healthz": await drive("healthz", healthz, count=args.latency_runs, meter=meter),
                      "versions": await drive("versions", versions, count=args.latency_runs, meter=meter)}
            samples: dict[str, Sample] = {}
            kinds = ("relay",) if args.profile else ("plain", "relay")
            for round_ in range(args.rounds):
                for kind in kinds if round_ % 2 == 0 else tuple(reversed(kinds)):
                    for phase, options in (("latency", {"count": args.latency_runs}),
                                           ("rate", {"count": args.runs, "concurrency": args.concurrency})):
                        result = await drive(kind, calls[kind], meter=meter, **options)
                        name = f"{kind}-{phase}"
                        samples[name] = samples[name].merge(result) if name in samples else result
                        print(f"  round {round_ + 1} {name:14} {result.count:5d} calls {result.seconds:6.1f}s "
                              f"{result.rate:7.1f}/s  p50 {result.ms(.5):6.2f} ms  errors {result.errors}  "
                              f"load {load_average()}", flush=True)
        if args.profile:
            import signal

            from common import stop

            stop(running.api, signal.SIGINT)
            profile_report(profile_to)
            return
        report(samples, floors)
        for workers in args.workers[1:] if args.workers[0] == 1 else args.workers:
            await scaling(running, workflow["id"], key, workers, args, samples)
        print(f"\nload average at the end: {load_average()}")


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (uvicorn's worker processes under `relay api --workers N`)."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        for child in children:
            found += process_tree(int(child))
    return found


async def scaling(running: Stack, workflow_id: str, key: str, workers: int, args: argparse.Namespace,
                  samples: dict[str, Sample]) -> None:
    """`relay api --workers N` on the same server: starts/s with --concurrency in flight, and p50 one at a time."""
    import signal

    import httpx
    from common import stop

    stop(running.api, signal.SIGINT)
    await running.start_api(options=("--workers", str(workers)))
    assert running.api is not None
    await asyncio.sleep(2)  # every worker process up (readyz answered by one of them)
    pids = process_tree(running.api.pid)
    meter = CpuMeter(**{f"api{i}": pid for i, pid in enumerate(pids)})
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    async with httpx.AsyncClient(base_url=running.api_url, headers={"Authorization": f"Bearer {key}"},
                                 timeout=30, limits=limits) as http:
        async def relay(_: int) -> None:
            response = await http.post(f"/v1/workflows/{workflow_id}/trigger", json=TRIGGER_BODY)
            if response.status_code != 201:
                raise RuntimeError(response.text)

        await drive("warm", relay, count=args.warmup, concurrency=min(5, args.concurrency))
        latency = await drive("latency", relay, count=args.latency_runs)
        rate = await drive("rate", relay, count=args.runs, concurrency=args.concurrency, meter=meter)
    api_cpu = sum(v for k, v in rate.cpu.items() if k.startswith("api"))
    plain = samples["plain-rate"].rate
    print(f"\nrelay api --workers {workers} ({len(pids)} processes): {rate.rate:.1f} starts/s "
          f"({rate.rate / plain:.2f} x plain's {plain:.1f}), p50 at 20 in flight {rate.ms(.5):.1f} ms, "
          f"p50 one at a time {latency.ms(.5):.2f} ms, API CPU {1000 * api_cpu / max(1, rate.count):.2f} ms/start, "
          f"errors {rate.errors}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-runs", type=int, default=300, help="sequential calls per kind per round (300)")
    parser.add_argument("--runs", type=int, default=1000, help="starts per kind per round for starts/s (1000)")
    parser.add_argument("--concurrency", type=int, default=20, help="calls in flight for starts/s (20)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds, order alternating (2)")
    parser.add_argument("--warmup", type=int, default=30, help="warm-up calls per kind (30)")
    parser.add_argument("--profile", action="store_true", help="profile the API process (relay side only)")
    parser.add_argument("--breakdown", action="store_true", help="time the trigger path's steps in-process instead")
    parser.add_argument("--database-url", default="", help="the API's database (default: SQLite in the temp dir); "
                        "an empty PostgreSQL database, e.g. postgresql://postgres@127.0.0.1:5432/relay_bench")
    parser.add_argument("--workers", default="1", help="relay api --workers N for each N listed, e.g. 1,2 (1)")
    parsed = parser.parse_args()
    parsed.workers = [int(n) for n in parsed.workers.split(",")]
    from common import run_then_exit

    run_then_exit(main(parsed))
