"""Fairness between tenants (SPEC §3.3): tenant A holds a backlog of queued runs, tenant B starts
one run; how long does B's run take, against the same run with no backlog? And what do the
worker's slots cost in throughput?

Each trial uses a fresh task queue on one dev server (fairness on: app/devserver.py
fairness_args): A's runs and then B's are started through Relay's own start path
(app/services/runs.start_run, which sets the priority) while no worker polls, so they wait as a
backlog; then a Relay worker (worker.build_worker) starts, and B's latency is the time from the
worker's start to B's run completing. Cases:

- keyed (queued): A's backlog and B's run carry their tenant as the fairness key (Relay now); B
  is queued right behind A's backlog before the worker starts, its latency counts from the
  worker's start; its unloaded twin is B alone, same procedure. B starts once the server counts
  all of A's runs in the task queue (`settled`): a start answers before the server's history
  service has handed the run's first task to matching, and the dev server has one history shard,
  so a run started in the same instant as the end of A's burst of 2,000 also waits for the server
  to digest the burst (docs/performance.md 7.6: up to ~100 ms more; `--no-settle` measures that);
- arriving: the same, but B starts 3 s into the drain of A's backlog, while the worker is busy
  with A's runs (its latency counts from its own start); its unloaded twin starts B on an idle
  running worker;

B's completion (and its start, when arriving) are read off its history (the server's clock):
the bench's client shares its process with the busy worker, where a Relay API would not. Also
counted: how many of A's runs closed before B's (after B's start, when arriving), which the
machine's load does not blur: ideally a handful (first in, first out: the whole backlog).
- unkeyed: as keyed without a fairness key (Relay before), so dispatch is first in, first out.

Throughput: each loaded trial waits until A's backlog has drained; (backlog + 1) runs over the
time from the worker's start to the last run closing is the worker's rate at saturation.
Every configuration of --slots × --pollers (activity slots = workflow-task slots unless
--activity-slots is given) gives one row per case in the table printed at the end.

    .venv/bin/python bench/fairness.py [--backlog 2000] [--server-fairness on|off] [--partitions 1]
                                       [--slots 5,10,20,50,100] [--activity-slots N] [--pollers 5]
                                       [--cases keyed,arriving,unkeyed] [--rounds 1] [--no-settle]
                                       [--step delay|webhook|local-webhook] [--step-latency 0.05]

About a minute per configuration and case on 2 cores at a backlog of 2,000. Figures: docs/performance.md,
section 7.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from temporalio.api.enums.v1 import EventType, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.common import Priority

from app import temporal
from app.config import Settings
from app.db.session import make_engine, make_sessionmaker
from app.db.tables import Workflow, WorkflowVersion
from app.devserver import free_port, start_temporal, stop_process, wait_for_port
from app.services import runs
from bench.common import connect_when_ready, header, load_average
from worker import build_worker
from workflows.models import RunState, TriggerInfo

DEFINITION = {"name": "bench", "trigger_type": "manual",
              "workflow_blocks": [{"$kind": "Block", "type": "delay", "id": "d", "inputs": {"duration": "0s"}}]}
# --step webhook: one webhook step (a regular activity: the default 30 s timeout) to a receiver in
# its own process that answers after --step-latency, so the worker's slots wait on I/O as real
# steps do; --step local-webhook: the same with a 2 s timeout, so a local activity (it holds a
# workflow-task slot while it waits).
RECEIVER = """
import sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length") or 0))
        time.sleep(float(sys.argv[1]))
        self.send_response(200); self.send_header("content-type", "application/json")
        self.send_header("content-length", "2"); self.end_headers(); self.wfile.write(b"{}")
    def log_message(self, *args): pass
server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), Handler)
server.daemon_threads = True
server.request_queue_size = 1024
server.serve_forever()
"""


def webhook_definition(url: str, timeout: str) -> dict:
    return {"name": "bench", "trigger_type": "manual", "workflow_blocks": [
        {"$kind": "Action", "type": "webhook", "id": "w", "timeout": timeout, "input": {"url": url}}]}
RELAY_PRIORITY = temporal.run_priority
WHEN_B_STARTS = {True: "once A's backlog is queued", False: "right after A's last start"}  # the queued case
ARRIVE_AFTER = 3.0  # seconds into the drain of A's backlog when B's run starts (case "arriving")
DEFAULTS = Settings.model_fields


def unkeyed(tenant_id: str, priority: int | None = None) -> Priority:
    return Priority(priority_key=priority)  # what runs carried before: no fairness key


async def start(client: Client, settings: Settings, tenant: str) -> str:
    workflow = Workflow(id=f"wf_{tenant}", tenant_id=tenant, name="bench", trigger_type="manual")
    version = WorkflowVersion(tenant_id=tenant, workflow_id=workflow.id, version_number=1, definition=DEFINITION)
    trigger = TriggerInfo(type="manual", entity="bench", entity_id="1", data={})
    instance = await runs.start_run(client, settings, workflow=workflow, version=version, trigger=trigger)
    return instance["temporal"]["workflow_id"]


@dataclass
class Trial:
    latency: float  # B's run: seconds to its completion (see `trial`)
    rate: float | None = None  # runs per second from the worker's start until A's backlog drained
    ahead: int | None = None  # A's runs that closed before B's (a count the machine's load does not blur)
    phases: str = ""  # where B's time went, off its history (see `phases`)


def phases(events) -> str:
    """B's history split: its workflow tasks' wait in the queue (scheduled → started: matching and the
    worker's free slots), their time in the worker (started → completed), and the count of tasks."""
    at = {}
    queued = worker = 0.0
    tasks = 0
    for event in events:
        kind = EventType.Name(event.event_type)
        t = event.event_time.ToDatetime(tzinfo=UTC).timestamp()
        if kind == "EVENT_TYPE_WORKFLOW_TASK_SCHEDULED":
            at["scheduled"] = t
        elif kind == "EVENT_TYPE_WORKFLOW_TASK_STARTED":
            queued += t - at.get("scheduled", t)
            at["started"] = t
            tasks += 1
        elif kind in ("EVENT_TYPE_WORKFLOW_TASK_COMPLETED", "EVENT_TYPE_WORKFLOW_TASK_FAILED",
                      "EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT"):
            worker += t - at.get("started", t)
    return f"{queued * 1000:.0f}/{worker * 1000:.0f}/{tasks}"


async def settled(client: Client, task_queue: str, backlog: int) -> None:
    """Wait until the server counts A's whole backlog in the task queue (its history service hands each
    started run's first workflow task to matching after the start has answered). The count is the
    server's cached statistic, refreshed every few seconds, so this waits up to ~5 s."""
    began = time.perf_counter()
    request = DescribeTaskQueueRequest(namespace=client.namespace, task_queue=TaskQueue(name=task_queue),
                                       task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, report_stats=True)
    count = 0
    while time.perf_counter() - began < 60:
        count = (await client.workflow_service.describe_task_queue(request)).stats.approximate_backlog_count
        if count >= backlog:
            break
        await asyncio.sleep(0.05)
    print(f"  settled: {count} in the queue after {(time.perf_counter() - began) * 1000:.0f} ms", flush=True)


async def trial(client: Client, settings: Settings, sessions, *, backlog: int, keyed: bool = True,
                arriving: bool = False, settle: bool = False) -> Trial:
    """B's latency with A's `backlog` queued before the worker starts (and the drain rate when there
    is one). Queued (default): B is queued behind A's backlog too, and its latency counts from the
    worker's start. `arriving`: B starts ARRIVE_AFTER seconds into the drain, when the worker is
    busy with A's runs, and its latency counts from its start."""
    settings = settings.model_copy(update={"task_queue": f"fair-{uuid.uuid4().hex[:8]}"})
    temporal.run_priority = RELAY_PRIORITY if keyed else unkeyed
    gate = asyncio.Semaphore(50)

    async def start_a(_: int) -> str:
        async with gate:
            return await start(client, settings, "ten_a")

    await asyncio.gather(*(start_a(i) for i in range(backlog)))
    if settle and backlog:
        await settled(client, settings.task_queue, backlog)
    b = None if arriving else await start(client, settings, "ten_b")
    worker = build_worker(client, settings, sessions)
    began, began_at = time.perf_counter(), time.time()
    async with worker:
        if b is None:
            await asyncio.sleep(ARRIVE_AFTER)
            b = await start(client, settings, "ten_b")
        handle = client.get_workflow_handle(b, result_type=RunState)
        await handle.result()
        # Read off the server's history, not this process's clock: the bench's client shares its
        # process (and GIL) with the busy worker, where a Relay API would not.
        events = (await handle.fetch_history()).events
        started, closed = (event.event_time.ToDatetime(tzinfo=UTC).timestamp() for event in (events[0], events[-1]))
        result = Trial(closed - (started if arriving else began_at), phases=phases(events))
        if backlog:  # the drain: A's backlog at the worker's full rate (and a clean next trial)
            while (await client.count_workflows(  # noqa: ASYNC110 - polls the server: nothing local to wait on
                    f"TaskQueue = '{settings.task_queue}' AND ExecutionStatus = 'Running'")).count:
                await asyncio.sleep(0.2)
            result.rate = (backlog + 1) / (time.perf_counter() - began)
            b_closed = events[-1].event_time.ToDatetime(tzinfo=UTC).isoformat()
            result.ahead = (await client.count_workflows(
                f"TaskQueue = '{settings.task_queue}' AND CloseTime < '{b_closed}' AND WorkflowId != '{b}'")).count
            if arriving:  # only those that closed after B started count as ahead of it
                b_started = events[0].event_time.ToDatetime(tzinfo=UTC).isoformat()
                result.ahead -= (await client.count_workflows(
                    f"TaskQueue = '{settings.task_queue}' AND CloseTime < '{b_started}'")).count
    return result


def configured(base: Settings, slots: int, activity_slots: int | None, pollers: int) -> Settings:
    return base.model_copy(update={
        "worker_max_concurrent_workflow_tasks": slots,
        "worker_max_concurrent_activities": activity_slots or slots,
        "worker_workflow_task_pollers": pollers, "worker_activity_task_pollers": pollers})


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.0f} ({', '.join(str(round(x * 1000)) for x in values)})"


async def measure(client: Client, settings: Settings, sessions, args: argparse.Namespace) -> list[str]:
    """One configuration: a row per case (median of --rounds loaded trials against the median of
    3 unloaded ones of the same kind)."""
    rows = []
    for case in args.cases.split(","):
        arriving = case == "arriving"
        unloaded = [(await trial(client, settings, sessions, backlog=0, arriving=arriving)).latency
                    for _ in range(3)]
        loaded = [await trial(client, settings, sessions, backlog=args.backlog, keyed=case != "unkeyed",
                              arriving=arriving, settle=args.settle) for _ in range(args.rounds)]
        latencies = [x.latency for x in loaded]
        ratio = statistics.median(latencies) / statistics.median(unloaded)
        within = sum(x <= 3 * statistics.median(unloaded) for x in latencies)
        rates = [round(x.rate or 0) for x in loaded]
        ahead = [x.ahead for x in loaded]
        split = " ".join(x.phases for x in loaded)
        rows.append(f"| {settings.worker_max_concurrent_workflow_tasks} | {settings.worker_max_concurrent_activities} "
                    f"| {settings.worker_workflow_task_pollers} | {case} | {ms(unloaded)} | {ms(latencies)} "
                    f"| {ratio:.1f} | {within} of {len(latencies)} | {ahead} | {split} | {statistics.median(rates):.0f} {rates} | {load_average()} |")
        print(rows[-1], flush=True)
    return rows


async def main(args: argparse.Namespace) -> None:
    header(sys.argv)
    with tempfile.TemporaryDirectory(prefix="relay-fairness-") as tmp:
        data_dir, port = Path(tmp), free_port()
        temporal_server = start_temporal(data_dir=data_dir, port=port, ui_port=free_port(),
                                         log_file=data_dir / "t.log", fairness=args.server_fairness == "on",
                                         partitions=args.partitions)
        try:
            client = await connect_when_ready(port, temporal_server)
            base = Settings(env="test", database_url=f"sqlite:///{data_dir / 'relay.db'}",
                            temporal_address=f"127.0.0.1:{port}", worker_metrics_port=0,
                            outbound_allow="127.0.0.0/8")
            receiver = None
            if args.step != "delay":
                global DEFINITION
                receiver_port = free_port()
                receiver = await asyncio.to_thread(
                    subprocess.Popen, [sys.executable, "-c", RECEIVER, str(args.step_latency), str(receiver_port)])
                await wait_for_port(receiver_port, process=receiver)
                DEFINITION = webhook_definition(f"http://127.0.0.1:{receiver_port}/hook",
                                                timeout="2s" if args.step == "local-webhook" else "30s")
            engine = make_engine(base.database_url)
            sessions = make_sessionmaker(engine)
            print(f"server fairness {args.server_fairness}; task queue partitions {args.partitions}; "
                  f"backlog {args.backlog}; B starts {WHEN_B_STARTS[args.settle]}; "
                  f"step {args.step}"
                  + (f" answered after {args.step_latency * 1000:.0f} ms" if args.step != "delay" else ""))
            table = ["| workflow-task slots | activity slots | pollers | case | unloaded ms, median (3 trials) "
                     "| B's latency ms, median (trials) | × unloaded | within 3× | A's runs closed ahead of B "
                     "| B's tasks: queued/in worker ms/count | runs/s (drain), median [trials] | load |", "|---" * 12 + "|"]
            print("\n".join(table), flush=True)
            for pollers in map(int, args.pollers.split(",")):
                for slots in map(int, args.slots.split(",")):
                    settings = configured(base, slots, args.activity_slots, pollers)
                    table += await measure(client, settings, sessions, args)
            print("\n" + "\n".join(table))
            print(f"load average at the end: {load_average()}")
            await engine.dispose()
            if receiver is not None:
                receiver.terminate()
        finally:
            await asyncio.to_thread(stop_process, temporal_server)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backlog", type=int, default=2000)
    parser.add_argument("--server-fairness", choices=("on", "off"), default="on")
    parser.add_argument("--partitions", type=int, default=1, help="the dev server's partitions per task queue")
    parser.add_argument("--slots", default=str(DEFAULTS["worker_max_concurrent_workflow_tasks"].default),
                        help="workflow-task slots, comma-separated (RELAY_WORKER_MAX_CONCURRENT_WORKFLOW_TASKS)")
    parser.add_argument("--activity-slots", type=int, default=None,
                        help="activity slots (RELAY_WORKER_MAX_CONCURRENT_ACTIVITIES); default: as --slots")
    parser.add_argument("--pollers", default=str(DEFAULTS["worker_workflow_task_pollers"].default),
                        help="workflow-task and activity pollers, comma-separated (RELAY_WORKER_*_TASK_POLLERS)")
    parser.add_argument("--cases", default="keyed,arriving", help="which loaded cases: keyed,arriving,unkeyed")
    parser.add_argument("--step", choices=("delay", "webhook", "local-webhook"), default="delay",
                        help="each run's one step: delay 0s (CPU only) or a webhook to a local receiver")
    parser.add_argument("--step-latency", type=float, default=0.05, help="the receiver's answer time, seconds")
    parser.add_argument("--settle", action=argparse.BooleanOptionalAction, default=True,
                        help="start B only once the server counts A's whole backlog in the task queue "
                             "(see `settled`); --no-settle: right after A's last start")
    parser.add_argument("--rounds", type=int, default=1, help="loaded trials per case (the median is shown)")
    from common import run_then_exit

    run_then_exit(main(parser.parse_args()))
