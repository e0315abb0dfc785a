"""Fairness between tenants (SPEC §3.3): tenant A holds a backlog of queued runs, tenant B starts
one run; how long does B's run take, against the same run with no backlog?

Each trial uses a fresh task queue on one dev server (fairness on: app/devserver.py
fairness_args): A's runs and then B's are started through Relay's own start path
(app/services/runs.start_run, which sets the priority) while no worker polls, so they wait as a
backlog; then a Relay worker (worker.build_worker) starts, and B's latency is the time from the
worker's start to B's run completing. Three cases:

- unloaded: B's run alone;
- keyed: A's backlog and B's run carry their tenant as the fairness key (Relay now);
- unkeyed: the same runs without a fairness key (Relay before), so dispatch is first in, first out.

    .venv/bin/python bench/fairness.py [--backlog 2000] [--rounds 1] [--server-fairness on|off]
                                       [--slots 100] [--cases keyed,unkeyed]

About a minute on 2 cores at the defaults. Figures: docs/performance.md, section 7.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from temporalio.client import Client  # noqa: E402
from temporalio.common import Priority  # noqa: E402
from temporalio.contrib.pydantic import pydantic_data_converter  # noqa: E402

from app.config import Settings  # noqa: E402
from app.db.session import make_engine, make_sessionmaker  # noqa: E402
from app.db.tables import Workflow, WorkflowVersion  # noqa: E402
from app.devserver import free_port, start_temporal, stop_process, wait_for_port  # noqa: E402
from app.services import runs  # noqa: E402
from bench.common import header, load_average  # noqa: E402
from worker import build_worker  # noqa: E402
from workflows.models import RunState, TriggerInfo  # noqa: E402

DEFINITION = {"name": "bench", "trigger_type": "manual",
              "workflow_blocks": [{"$kind": "Block", "type": "delay", "id": "d", "inputs": {"duration": "0s"}}]}
RELAY_PRIORITY = runs.run_priority


def unkeyed(tenant_id: str, priority: int | None = None) -> Priority:
    return Priority(priority_key=priority)  # what runs carried before: no fairness key


async def start(client: Client, settings: Settings, tenant: str) -> str:
    workflow = Workflow(id=f"wf_{tenant}", tenant_id=tenant, name="bench", trigger_type="manual")
    version = WorkflowVersion(tenant_id=tenant, workflow_id=workflow.id, version_number=1, definition=DEFINITION)
    trigger = TriggerInfo(type="manual", entity="bench", entity_id="1", data={})
    instance = await runs.start_run(client, settings, workflow=workflow, version=version, trigger=trigger)
    return instance["temporal"]["workflow_id"]


async def trial(client: Client, settings: Settings, sessions, *, backlog: int, keyed: bool) -> float:
    """Seconds from the worker's start to B's run completing, with A's `backlog` queued before B."""
    settings = settings.model_copy(update={"task_queue": f"fair-{uuid.uuid4().hex[:8]}"})
    runs.run_priority = RELAY_PRIORITY if keyed else unkeyed
    gate = asyncio.Semaphore(50)

    async def start_a(_: int) -> str:
        async with gate:
            return await start(client, settings, "ten_a")

    await asyncio.gather(*(start_a(i) for i in range(backlog)))
    b = await start(client, settings, "ten_b")
    worker = build_worker(client, settings, sessions)
    began = time.perf_counter()
    async with worker:
        await client.get_workflow_handle(b, result_type=RunState).result()
        latency = time.perf_counter() - began
        if backlog:  # let A's backlog drain before the worker stops (a fair test of the next trial)
            drained = time.perf_counter()
            while (await client.count_workflows(
                    f"TaskQueue = '{settings.task_queue}' AND ExecutionStatus = 'Running'")).count:
                await asyncio.sleep(0.5)
            print(f"    (A's {backlog} runs drained {time.perf_counter() - drained:.1f} s after B completed)")
    return latency


async def main(args: argparse.Namespace) -> None:
    header(sys.argv)
    with tempfile.TemporaryDirectory(prefix="relay-fairness-") as tmp:
        data_dir, port = Path(tmp), free_port()
        temporal = start_temporal(data_dir=data_dir, port=port, ui_port=free_port(), log_file=data_dir / "t.log",
                                  fairness=args.server_fairness == "on")
        try:
            await wait_for_port(port, process=temporal, timeout=90)
            client = await Client.connect(f"127.0.0.1:{port}", data_converter=pydantic_data_converter)
            settings = Settings(env="test", database_url=f"sqlite:///{data_dir / 'relay.db'}",
                                temporal_address=f"127.0.0.1:{port}", worker_metrics_port=0,
                                worker_max_concurrent_workflow_tasks=args.slots)
            engine = make_engine(settings.database_url)
            sessions = make_sessionmaker(engine)
            print(f"server fairness {args.server_fairness}; backlog {args.backlog}; rounds {args.rounds}; "
                  f"worker workflow-task slots {args.slots}")
            figures: dict[str, list[float]] = {"unloaded": [], "keyed": [], "unkeyed": []}
            for _ in range(args.rounds):
                for _ in range(3):
                    figures["unloaded"].append(await trial(client, settings, sessions, backlog=0, keyed=True))
                for case in args.cases.split(","):
                    figures[case].append(await trial(client, settings, sessions, backlog=args.backlog,
                                                     keyed=case == "keyed"))
                    print(f"  {case}: {figures[case][-1] * 1000:.0f} ms (load {load_average()})", flush=True)
            base = statistics.median(figures["unloaded"])
            print(f"unloaded: median {base * 1000:.0f} ms of {[round(x * 1000) for x in figures['unloaded']]}")
            for case in args.cases.split(","):
                value = statistics.median(figures[case])
                print(f"{case}: median {value * 1000:.0f} ms = {value / base:.1f}x unloaded")
            print(f"load average at the end: {load_average()}")
            await engine.dispose()
        finally:
            await asyncio.to_thread(stop_process, temporal)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backlog", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--server-fairness", choices=("on", "off"), default="on")
    parser.add_argument("--slots", type=int, default=Settings.model_fields["worker_max_concurrent_workflow_tasks"].default,
                        help="the worker's workflow-task slots (RELAY_WORKER_MAX_CONCURRENT_WORKFLOW_TASKS)")
    parser.add_argument("--cases", default="keyed,unkeyed", help="which loaded cases to run")
    asyncio.run(main(parser.parse_args()))
