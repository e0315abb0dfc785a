"""Throughput of the cross-engine shape: three sequential webhook steps to a local receiver.

    .venv/bin/python bench/throughput.py [--runs 300] [--concurrency 50] [--rounds 2] [--kinds relay,relay-30s,plain]
                                         [--one-process]

One Temporal dev server (app.devserver.start_temporal, as `relay dev` starts it), one worker with
the production limits in a process of its own (as `relay worker` runs), and in the bench process
the client that starts the runs and an HTTP receiver on 127.0.0.1 answering 200 at once. With
--one-process the worker shares the bench process (the shape before 2026-11-27: that process,
bound to one core by its GIL, was what saturated, so the ratio measured the worker's CPU per run
more than the server's). Every kind calls the real `webhook` activity (RelayActivities) three
times in sequence:

  relay        RelayWorkflow, 3 webhook Actions with "timeout": "2s": local activities (Relay's rule)
  relay-30s    the same definition with the default 30 s timeout: regular activities
  plain        the same steps hand-written: 3 workflow.execute_activity calls (bench/steps.py)
  plain-local  hand-written with workflow.execute_local_activity (not run unless asked for)

At saturation: --runs runs per kind and round, --concurrency of them in flight (started with
client.start_workflow, awaited to their result); runs/s is runs over wall time, latency is
start → result. Goal (issue #19): relay runs/s >= 1.5 x plain. Printed beside the published
figures of a cross-engine run of a 3-step workflow on one developer machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from common import (
        ROOT,
        CpuMeter,
        connect_when_ready,
        header,
        load_average,
        percentile,
        spawn,
        stop,
        wait_for_poller,
    )
    from steps import PlainInput, PlainWebhookSteps, step_input

STEPS = 3
KINDS = ("relay", "relay-30s", "plain")
PUBLISHED = [  # runs/s, median ms: a published cross-engine run of a 3-step workflow on one developer machine
    ("Temporal (published)", 39, 119), ("Inngest (published)", 90, 260), ("Kestra (published)", 68, 177),
    ("Windmill (published)", 152, 103), ("n8n (its own figure, 2 vCPU, webhook → set)", 220, None)]


def make_input(kind: str, url: str) -> tuple[str, Any]:
    from workflows.definition import Definition
    from workflows.models import RunInput, TriggerInfo

    run_id = f"inst_{uuid.uuid4().hex[:12]}"
    if kind.startswith("relay"):
        blocks = [{"$kind": "Action", "id": f"step_{i}", "type": "webhook",
                   "timeout": "30s" if kind == "relay-30s" else "2s",
                   "input": step_input(url, i, "{{trigger.data.name}}")} for i in range(STEPS)]
        definition = Definition.model_validate({"name": "three", "workflow_blocks": blocks})
        return "RelayWorkflow", RunInput(tenant_id="bench", instance_id=run_id, workflow_id="wf_three",
                                         workflow_name="three", version=1, definition=definition,
                                         trigger=TriggerInfo(data={"name": "Ada"}))
    local = kind == "plain-local"
    return "PlainWebhookSteps", PlainInput(tenant_id="bench", instance_id=run_id, local=local,
                                           timeout_seconds=2 if local else 30,
                                           inputs=[step_input(url, i, "Ada") for i in range(STEPS)])


async def saturate(client: Any, queue: str, kind: str, url: str, runs: int, concurrency: int) -> tuple[float, list[float]]:
    """(wall seconds, latencies) of `runs` runs with `concurrency` in flight."""
    inputs = [make_input(kind, url) for _ in range(runs)]
    latencies: list[float] = []
    pending = iter(inputs)

    async def lane() -> None:
        for name, arg in pending:
            started = time.perf_counter()
            handle = await client.start_workflow(name, arg, id=f"{kind}-{arg.instance_id}", task_queue=queue)
            await handle.result()
            latencies.append(time.perf_counter() - started)

    wall = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return time.perf_counter() - wall, latencies


def worker_limits(args: argparse.Namespace) -> dict[str, Any]:
    from app.config import Settings

    limits = {name: Settings.model_fields[f"worker_{name}"].default  # production defaults, no env read
              for name in ("max_concurrent_activities", "max_concurrent_workflow_tasks", "max_cached_workflows")}
    limits["nonsticky_to_sticky_poll_ratio"] = Settings.model_fields["worker_nonsticky_poll_ratio"].default
    if args.slots:
        limits["max_concurrent_workflow_tasks"] = args.slots
    if args.nonsticky_ratio:
        limits["nonsticky_to_sticky_poll_ratio"] = args.nonsticky_ratio
    if args.autoscale:
        from temporalio.worker import PollerBehaviorAutoscaling

        low, high, initial = (int(x) for x in args.autoscale.split(","))
        limits["workflow_task_poller_behavior"] = PollerBehaviorAutoscaling(minimum=low, maximum=high, initial=initial)
    return limits


def bench_worker(client: Any, queue: str, args: argparse.Namespace) -> Any:
    """The worker every kind runs on: RelayWorkflow and the hand-written twin, the real activities,
    the production limits and sandbox (none with --unsandboxed, which wins over --reimport-workflows)."""
    from temporalio.worker import UnsandboxedWorkflowRunner, Worker

    from activities import InMemoryConnectionStore, RelayActivities
    from app.config import Settings
    from worker import activity_settings, workflow_runner
    from workflows.interpreter import RelayWorkflow

    settings = Settings(env="test", outbound_allow="127.0.0.1/32")
    return Worker(client, task_queue=queue, workflows=[RelayWorkflow, PlainWebhookSteps],
                  activities=RelayActivities(activity_settings(settings), InMemoryConnectionStore()).list(),
                  **worker_limits(args), workflow_runner=UnsandboxedWorkflowRunner() if args.unsandboxed
                  else workflow_runner(reimport=args.reimport_workflows))


async def serve_worker(args: argparse.Namespace) -> None:
    """--serve-worker PORT QUEUE: the bench's worker as a process of its own, until SIGTERM."""
    import signal

    port, queue = args.serve_worker
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    client = await connect_when_ready(int(port), None)
    async with bench_worker(client, queue, args):
        await stopping.wait()


@contextlib.asynccontextmanager
async def running_worker(client: Any, port: int, queue: str, args: argparse.Namespace, log: Path,
                         nonsticky_ratio: float | None = None) -> AsyncIterator[int | None]:
    """The worker: its own process (as `relay worker` runs beside the API; the pid, for its CPU), or
    with --one-process in the bench process beside the client and the receiver (None)."""
    if args.one_process:
        async with bench_worker(client, queue, args):
            yield None
        return
    command = [sys.executable, str(ROOT / "bench" / "throughput.py"), "--serve-worker", str(port), queue]
    command += [f"--slots={args.slots}"] * bool(args.slots) + ["--reimport-workflows"] * args.reimport_workflows
    ratio = nonsticky_ratio or args.nonsticky_ratio
    command += [f"--nonsticky-ratio={ratio}"] * bool(ratio)
    command += [f"--autoscale={args.autoscale}"] * bool(args.autoscale and nonsticky_ratio is None)
    command += ["--unsandboxed"] * args.unsandboxed
    process = spawn(command, env={**os.environ, "PYTHONPATH": str(ROOT)}, log=log)
    try:
        await wait_for_poller(client, queue, process)
        yield process.pid
    finally:
        stop(process)


async def main(args: argparse.Namespace) -> None:
    import tempfile

    from app.devserver import free_port, start_temporal, stop_process
    from tests.receivers import HttpReceiver

    header(sys.argv)
    totals: dict[str, dict[str, Any]] = {kind: {"seconds": 0.0, "latencies": [], "cpu": {}} for kind in args.kinds}
    with tempfile.TemporaryDirectory(prefix="relay-bench-throughput-") as tmp:
        port = free_port()
        server = start_temporal(data_dir=Path(tmp), port=port, ui_port=free_port(), log_file=Path(tmp) / "t.log",
                                tuned=not args.untuned_server)
        try:
            client = await connect_when_ready(port, server)
            queue = f"bench-throughput-{uuid.uuid4().hex[:8]}"
            queues = dict.fromkeys(args.kinds, queue)
            async with HttpReceiver() as receiver, contextlib.AsyncExitStack() as workers:
                pids = {"worker": await workers.enter_async_context(
                    running_worker(client, port, queue, args, Path(tmp) / "worker.log"))}
                if args.plain_nonsticky_ratio and not args.one_process:  # the hand-written kinds on a worker of their own
                    queues |= {kind: f"{queue}-plain" for kind in args.kinds if kind.startswith("plain")}
                    pids["worker-plain"] = await workers.enter_async_context(running_worker(
                        client, port, f"{queue}-plain", args, Path(tmp) / "worker-plain.log", args.plain_nonsticky_ratio))
                meter = CpuMeter(temporal=server.pid, **{name: pid for name, pid in pids.items() if pid})
                url = f"{receiver.url}/hook"
                for kind in args.kinds:  # warm-up: imports, sandbox, server caches, the receiver's connection
                    await saturate(client, queues[kind], kind, url, args.warmup, min(args.warmup, args.concurrency))
                for round_ in range(args.rounds):
                    for kind in args.kinds if round_ % 2 == 0 else tuple(reversed(args.kinds)):
                        meter.start()
                        seconds, latencies = await saturate(client, queues[kind], kind, url, args.runs,
                                                            args.concurrency)
                        used = meter.stop()
                        total = totals[kind]
                        total["seconds"] += seconds
                        total["latencies"] += latencies
                        total["cpu"] = {k: total["cpu"].get(k, 0.0) + v for k, v in used.items()}
                        print(f"  round {round_ + 1} {kind:10} {args.runs / seconds:7.1f} runs/s  "
                              f"p50 {percentile(latencies, .5) * 1000:7.1f} ms  load {load_average()}", flush=True)
                calls = len(receiver.requests)
        finally:
            stop_process(server)
    expected = STEPS * (args.warmup + args.runs * args.rounds) * len(args.kinds)
    shape = "worker, client and receiver in one process" if args.one_process else \
        "the worker in its own process; the client and the receiver in the bench's"
    print(f"\nreceiver got {calls} calls (expected {expected}); {args.concurrency} runs in flight; {shape}")
    print(f"\n  {'':44} {'runs/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'worker CPU ms/run':>18} "
          f"{'bench CPU ms/run':>17} {'server CPU ms/run':>18}")
    rates = {}
    for kind, total in totals.items():
        runs = len(total["latencies"])
        rates[kind] = runs / total["seconds"]
        used = sum(seconds for name, seconds in total["cpu"].items() if name.startswith("worker"))  # (an idle one polls)
        worker_cpu = f"{1000 * used / runs:18.1f}" if "worker" in total["cpu"] else f"{'(in bench)':>18}"
        print(f"  {kind:44} {rates[kind]:8.1f} {percentile(total['latencies'], .5) * 1000:8.1f} "
              f"{percentile(total['latencies'], .95) * 1000:8.1f} {worker_cpu} {1000 * total['cpu']['bench'] / runs:17.1f} "
              f"{1000 * total['cpu']['temporal'] / runs:18.1f}")
    for name, rate, median in PUBLISHED:
        print(f"  {name:44} {rate:8.1f} {median if median is not None else '-':>8}")
    if "relay" in rates and "plain" in rates:
        print(f"\n  relay runs/s / plain runs/s: {rates['relay'] / rates['plain']:.2f}   (goal >= 1.5)")
    if "relay-30s" in rates and "plain" in rates:
        print(f"  relay-30s runs/s / plain runs/s: {rates['relay-30s'] / rates['plain']:.2f}   (interpreter, regular steps)")
    print(f"load average at the end: {load_average()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300, help="runs per kind per round (300)")
    parser.add_argument("--concurrency", type=int, default=50, help="runs in flight (50)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds, order alternating (2)")
    parser.add_argument("--warmup", type=int, default=10, help="warm-up runs per kind (10)")
    parser.add_argument("--kinds", default=",".join(KINDS), help="some of relay,relay-30s,plain,plain-local")
    parser.add_argument("--slots", type=int, default=None,
                        help="workflow-task slots (RELAY_WORKER_MAX_CONCURRENT_WORKFLOW_TASKS); default: the production default")
    parser.add_argument("--reimport-workflows", action="store_true",
                        help="the sandbox imports workflows/ for every run (RELAY_WORKER_REIMPORT_WORKFLOWS=true)")
    parser.add_argument("--untuned-server", action="store_true", help="the dev server without LATENCY_CONFIG")
    parser.add_argument("--nonsticky-ratio", type=float, default=None,
                        help="the worker's nonsticky_to_sticky_poll_ratio (default: RELAY_WORKER_NONSTICKY_POLL_RATIO's)")
    parser.add_argument("--plain-nonsticky-ratio", type=float, default=None,
                        help="run the hand-written kinds on a worker of their own with this poll ratio "
                             "(each kind with its own best setting; the SDK's default 0.2 is plain's)")
    parser.add_argument("--one-process", action="store_true",
                        help="the worker in the bench process, beside the client and the receiver (before 2026-11-27)")
    parser.add_argument("--autoscale", metavar="MIN,MAX,INITIAL",
                        help="Relay's worker polls for workflow tasks with the SDK's PollerBehaviorAutoscaling")
    parser.add_argument("--unsandboxed", action="store_true",
                        help="the worker without the SDK's workflow sandbox (UnsandboxedWorkflowRunner), to measure it")
    parser.add_argument("--serve-worker", nargs=2, metavar=("PORT", "QUEUE"), help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    parsed.kinds = tuple(parsed.kinds.split(","))
    from common import run_then_exit

    run_then_exit(serve_worker(parsed) if parsed.serve_worker else main(parsed))
