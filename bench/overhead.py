"""Interpreter overhead: RelayWorkflow vs a hand-written workflow, same activities, same server.

    .venv/bin/python bench/overhead.py [--runs N] [--concurrency C] [--rounds R] [--profile]

One process, one Temporal dev server (started here, with Relay's search attributes), one
Worker per task queue with the production worker settings and the default (sandboxed)
workflow runner. Both sides run 10 no-op "webhook" activities in sequence; the activity is
registered under the real activity name and takes/returns the real ActionInput/ActionResult.

  relay  RelayWorkflow over a 10-Action definition, started with client.start_workflow
  plain  PlainTenSteps below: the same 10 execute_activity calls, nothing else

Rounds run plain, relay, plain, relay, ... so drift (server DB growth, caches) hits both.
--profile instead runs relay once with workflow tasks on one profiled thread and prints
where the workflow-side CPU goes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.models import ActionInput, ActionResult

STEPS = 10
# The same retry/timeout shape RelayWorkflow derives from an ActionBlock's defaults.
TIMEOUT = timedelta(seconds=30)
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                    maximum_interval=timedelta(minutes=1), maximum_attempts=3)


@activity.defn(name="webhook")
async def noop_webhook(action: ActionInput) -> ActionResult:
    return ActionResult(output={"status_code": 200}, attempt=activity.info().attempt)


class PlainInput(BaseModel):
    tenant_id: str
    instance_id: str
    inputs: list[dict[str, Any]]


@workflow.defn(name="PlainTenSteps")
class PlainTenSteps:
    @workflow.run
    async def run(self, run: PlainInput) -> list[ActionResult]:
        nonce = workflow.uuid4().hex
        results: list[ActionResult] = []
        for index, step_input in enumerate(run.inputs):
            results.append(await workflow.execute_activity(
                "webhook",
                ActionInput(tenant_id=run.tenant_id, instance_id=run.instance_id, step_id=f"step_{index}",
                            input=step_input, secret_nonce=nonce),
                result_type=ActionResult, start_to_close_timeout=TIMEOUT, retry_policy=RETRY,
            ))
        return results


# ------------------------------------------------------------------------ inputs


def step_input(index: int, name: str) -> dict[str, Any]:
    """What step `index` sends; Relay renders it from a template, plain gets it ready-made."""
    return {"url": "https://hooks.example.com/relay", "method": "POST",
            "body": {"step": index, "name": name, "source": "bench"}}


def relay_input(run_id: str) -> Any:
    from workflows.definition import Definition
    from workflows.models import RunInput, TriggerInfo

    blocks = []
    for index in range(STEPS):
        body = step_input(index, "{{trigger.data.name}}")
        blocks.append({"$kind": "Action", "id": f"step_{index}", "type": "webhook", "input": body})
    definition = Definition.model_validate({"name": "bench", "workflow_blocks": blocks})
    return RunInput(tenant_id="bench", instance_id=run_id, workflow_id="wf_bench", workflow_name="bench",
                    version=1, definition=definition, trigger=TriggerInfo(data={"name": "Ada"}))


def plain_input(run_id: str) -> PlainInput:
    return PlainInput(tenant_id="bench", instance_id=run_id, inputs=[step_input(i, "Ada") for i in range(STEPS)])


# ------------------------------------------------------------------------ measuring


@dataclass
class Phase:
    kind: str
    runs: int
    seconds: float
    latencies: list[float]
    worker_cpu: float  # this process (client + worker), seconds
    server_cpu: float  # the dev server process, seconds

    @property
    def throughput(self) -> float:
        return self.runs / self.seconds


@dataclass
class Totals:
    phases: list[Phase] = field(default_factory=list)

    def of(self, kind: str) -> list[Phase]:
        return [p for p in self.phases if p.kind == kind]


def server_cpu_seconds() -> float:
    """User+system CPU of this process's children (the dev server), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    me = str(os.getpid())
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[1] == me:  # ppid
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def drive(client: Any, kind: str, queue: str, runs: int, concurrency: int) -> Phase:
    workflow_name = "RelayWorkflow" if kind == "relay" else "PlainTenSteps"
    make = relay_input if kind == "relay" else plain_input
    inputs = [make(uuid.uuid4().hex[:12]) for _ in range(runs)]  # built before the clock starts
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def one(arg: Any) -> None:
        async with gate:
            started = time.perf_counter()
            handle = await client.start_workflow(workflow_name, arg, id=f"{kind}-{arg.instance_id}",
                                                 task_queue=queue)
            await handle.result()
            latencies.append(time.perf_counter() - started)

    cpu0, server0, wall0 = time.process_time(), server_cpu_seconds(), time.perf_counter()
    await asyncio.gather(*(one(arg) for arg in inputs))
    seconds = time.perf_counter() - wall0
    return Phase(kind, runs, seconds, latencies, time.process_time() - cpu0, server_cpu_seconds() - server0)


def worker_for(client: Any, kind: str, queue: str, executor: Any = None) -> Any:
    from temporalio.worker import Worker

    from app.config import Settings
    from workflows.interpreter import RelayWorkflow

    limits = {name: Settings.model_fields[f"worker_{name}"].default  # production defaults, no env read
              for name in ("max_concurrent_activities", "max_concurrent_workflow_tasks", "max_cached_workflows")}
    return Worker(
        client, task_queue=queue,
        workflows=[RelayWorkflow if kind == "relay" else PlainTenSteps],
        activities=[noop_webhook],
        **limits,
        graceful_shutdown_timeout=timedelta(seconds=10),
        workflow_task_executor=executor,
    )


async def phase(client: Any, kind: str, runs: int, concurrency: int) -> Phase:
    queue = f"bench-{kind}-{uuid.uuid4().hex[:8]}"
    async with worker_for(client, kind, queue):
        return await drive(client, kind, queue, runs, concurrency)


# ------------------------------------------------------------------------ reporting


def machine_line() -> str:
    import temporalio

    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or "?")
    return (f"machine: {os.cpu_count()} cores ({model}), python {platform.python_version()}, "
            f"temporalio {temporalio.__version__}, {platform.system()} {platform.release()}")


def summary(phases: list[Phase]) -> dict[str, float]:
    latencies = [x for p in phases for x in p.latencies]
    runs = sum(p.runs for p in phases)
    return {
        "runs": runs,
        "throughput": runs / sum(p.seconds for p in phases),
        "p50": percentile(latencies, 0.50) * 1000,
        "p95": percentile(latencies, 0.95) * 1000,
        "worker_cpu_ms": 1000 * sum(p.worker_cpu for p in phases) / runs,
        "server_cpu_ms": 1000 * sum(p.server_cpu for p in phases) / runs,
    }


def report(totals: Totals) -> None:
    print()
    for p in totals.phases:
        print(f"  round  {p.kind:5}  {p.runs:4d} runs  {p.throughput:7.1f}/s  p50 "
              f"{percentile(p.latencies, .5) * 1000:6.0f} ms  p95 {percentile(p.latencies, .95) * 1000:6.0f} ms")
    print()
    print(f"{'':6} {'runs':>5} {'runs/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'worker CPU ms/run':>18} "
          f"{'server CPU ms/run':>18}")
    sums = {kind: summary(totals.of(kind)) for kind in ("plain", "relay")}
    for kind, s in sums.items():
        print(f"{kind:6} {s['runs']:5d} {s['throughput']:8.1f} {s['p50']:8.0f} {s['p95']:8.0f} "
              f"{s['worker_cpu_ms']:18.1f} {s['server_cpu_ms']:18.1f}")
    ratio = sums["relay"]["throughput"] / sums["plain"]["throughput"]
    print(f"\nthroughput ratio relay/plain: {ratio:.2f}   "
          f"(worker CPU per run relay/plain: {sums['relay']['worker_cpu_ms'] / sums['plain']['worker_cpu_ms']:.2f})")


# ------------------------------------------------------------------------ profiling


async def profile(client: Any, runs: int, concurrency: int) -> None:
    """Each kind with workflow tasks on one profiled thread; prints where the workflow-side CPU goes."""
    import cProfile
    import pstats
    import tempfile
    from concurrent.futures import ThreadPoolExecutor

    for kind in ("plain", "relay"):
        profiler = cProfile.Profile()
        executor = ThreadPoolExecutor(max_workers=1, initializer=profiler.enable)
        queue = f"bench-profile-{uuid.uuid4().hex[:8]}"
        try:
            async with worker_for(client, kind, queue, executor):
                await drive(client, kind, queue, 5, concurrency)  # warm-up, profiled too: creation counts
                result = await drive(client, kind, queue, runs, concurrency)
            executor.submit(profiler.disable).result()
        finally:
            executor.shutdown()
        out = Path(tempfile.gettempdir()) / f"relay-bench-{kind}.prof"
        profiler.dump_stats(out)
        stats = pstats.Stats(profiler)
        waiting = "<method 'get' of '_queue.SimpleQueue' objects>"  # the idle executor thread
        raw = stats.stats  # type: ignore[attr-defined]
        busy = stats.total_tt - sum(row[2] for (_, _, name), row in raw.items() if name == waiting)
        print(f"\n== {kind}: {result.runs + 5} runs profiled, workflow thread busy {busy:.2f}s "
              f"({1000 * busy / (result.runs + 5):.1f} ms/run, wall clock incl. GIL waits) -> {out}")
        stats.sort_stats("cumulative").print_stats(
            r"workflows/|sandbox/_runner|_workflow_instance.py:\d+\((activate|__init__)", 25)


# ------------------------------------------------------------------------ main


async def main(args: argparse.Namespace) -> None:
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.testing import WorkflowEnvironment

    from app.temporal import SEARCH_ATTRIBUTES

    extra: list[str] = []
    for name, kind in SEARCH_ATTRIBUTES.items():
        extra += ["--search-attribute", f"{name}={kind}"]
    print(machine_line())
    print(f"load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(Path(sys.executable).parent / "temporal"),
        data_converter=pydantic_data_converter, dev_server_extra_args=extra, dev_server_log_level="error",
    )
    try:
        if args.profile:
            await profile(env.client, args.runs, args.concurrency)
            return
        for kind in ("plain", "relay"):  # warm-up: imports, sandbox, server caches
            await phase(env.client, kind, args.warmup, args.concurrency)
        totals = Totals()
        for round_ in range(args.rounds):
            for kind in ("plain", "relay") if round_ % 2 == 0 else ("relay", "plain"):
                result = await phase(env.client, kind, args.runs, args.concurrency)
                totals.phases.append(result)
                print(f"  {kind}: {result.runs} runs in {result.seconds:.1f}s", flush=True)
        report(totals)
        print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
              "(other load on the machine skews runs/s; CPU ms/run is steadier)")
    finally:
        await env.shutdown()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="runs per kind per round (default 200)")
    parser.add_argument("--concurrency", type=int, default=20, help="runs in flight (default 20)")
    parser.add_argument("--rounds", type=int, default=2, help="plain+relay rounds, order alternating (default 2)")
    parser.add_argument("--warmup", type=int, default=10, help="warm-up runs per kind (default 10)")
    parser.add_argument("--profile", action="store_true", help="profile the relay workflow side instead")
    from common import run_then_exit

    run_then_exit(main(parser.parse_args()))
