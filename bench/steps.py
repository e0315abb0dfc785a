"""Step latency: a 10-step sequential run of fast webhook calls, end to end, three ways.

    .venv/bin/python bench/steps.py [--runs 40] [--rounds 2] [--concurrency 1]

One process, one Temporal dev server (started here), one HTTP receiver on 127.0.0.1 answering
200 at once. Every kind calls the real `webhook` activity (RelayActivities: SSRF guard, secret
resolution, idempotency key, response parsing) 10 times in sequence:

  relay        RelayWorkflow, 10 webhook Actions with "timeout": "2s": short steps, so local
               activities by Relay's rule (workflows/actions.py LOCAL_STEP_MAX, docs/decisions.md)
  relay-30s    the same definition with the default 30 s timeout: regular activities
  plain        a hand-written workflow: 10 workflow.execute_activity calls
  plain-local  a hand-written workflow: 10 workflow.execute_local_activity calls

Latency is start_workflow to result, runs one at a time by default (the figure is a run's own
latency, not a queue). Rounds alternate the order of kinds so drift hits all of them.
Goal (issue #9): relay p50 within 1.5x of plain-local.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from common import header, load_average, percentile  # common puts the repo on sys.path

    from activities.models import ActionInput, ActionResult

STEPS = 10
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                    maximum_interval=timedelta(minutes=1), maximum_attempts=3)
KINDS = ("relay", "relay-30s", "plain", "plain-local")


class PlainInput(BaseModel):
    tenant_id: str
    instance_id: str
    local: bool
    timeout_seconds: float
    inputs: list[dict[str, Any]]


@workflow.defn(name="PlainWebhookSteps")
class PlainWebhookSteps:
    @workflow.run
    async def run(self, run: PlainInput) -> list[ActionResult]:
        results: list[ActionResult] = []
        timeout = timedelta(seconds=run.timeout_seconds)
        for index, step_input in enumerate(run.inputs):
            action = ActionInput(tenant_id=run.tenant_id, instance_id=run.instance_id, step_id=f"step_{index}",
                                 input=step_input)
            if run.local:
                result = await workflow.execute_local_activity(
                    "webhook", action, result_type=ActionResult, start_to_close_timeout=timeout, retry_policy=RETRY)
            else:
                result = await workflow.execute_activity(
                    "webhook", action, result_type=ActionResult, start_to_close_timeout=timeout, retry_policy=RETRY)
            results.append(result)
        return results


def step_input(url: str, index: int, name: str) -> dict[str, Any]:
    return {"url": url, "method": "POST", "body": {"step": index, "name": name}}


def relay_input(url: str, run_id: str, timeout: str) -> Any:
    from workflows.definition import Definition
    from workflows.models import RunInput, TriggerInfo

    blocks = [{"$kind": "Action", "id": f"step_{i}", "type": "webhook", "timeout": timeout,
               "input": step_input(url, i, "{{trigger.data.name}}")} for i in range(STEPS)]
    definition = Definition.model_validate({"name": "steps", "workflow_blocks": blocks})
    return RunInput(tenant_id="bench", instance_id=run_id, workflow_id="wf_steps", workflow_name="steps",
                    version=1, definition=definition, trigger=TriggerInfo(data={"name": "Ada"}))


def make_input(kind: str, url: str) -> tuple[str, Any]:
    run_id = f"inst_{uuid.uuid4().hex[:12]}"
    if kind.startswith("relay"):
        return "RelayWorkflow", relay_input(url, run_id, "30s" if kind == "relay-30s" else "2s")
    local = kind == "plain-local"
    return "PlainWebhookSteps", PlainInput(tenant_id="bench", instance_id=run_id, local=local,
                                           timeout_seconds=2 if local else 30,
                                           inputs=[step_input(url, i, "Ada") for i in range(STEPS)])


async def measure(client: Any, queue: str, kind: str, url: str, runs: int, concurrency: int) -> list[float]:
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    inputs = [make_input(kind, url) for _ in range(runs)]

    async def one(name: str, arg: Any) -> None:
        async with gate:
            started = time.perf_counter()
            handle = await client.start_workflow(name, arg, id=f"{kind}-{arg.instance_id}", task_queue=queue)
            results = await handle.result()
            latencies.append(time.perf_counter() - started)
            steps = results["steps"].values() if isinstance(results, dict) else results  # a RunState, untyped
            ok = [s for s in steps if (s.get("status") == "completed" if "status" in s else s["output"])]
            if len(ok) != STEPS:
                raise RuntimeError(f"{kind}: {len(ok)} steps completed, not {STEPS}: {results}")

    await asyncio.gather(*(one(name, arg) for name, arg in inputs))
    return latencies


async def main(args: argparse.Namespace) -> None:
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.testing import WorkflowEnvironment
    from temporalio.worker import Worker

    from activities import InMemoryConnectionStore, RelayActivities
    from app.config import Settings
    from app.temporal import SEARCH_ATTRIBUTES
    from tests.receivers import HttpReceiver
    from worker import activity_settings
    from workflows.interpreter import RelayWorkflow

    header(sys.argv)
    extra: list[str] = []
    for name, kind in SEARCH_ATTRIBUTES.items():
        extra += ["--search-attribute", f"{name}={kind}"]
    if args.eager:
        extra += ["--dynamic-config-value", "system.enableActivityEagerExecution=true"]
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(Path(sys.executable).parent / "temporal"),
        data_converter=pydantic_data_converter, dev_server_extra_args=extra, dev_server_log_level="error",
    )
    settings = Settings(env="test", outbound_allow="127.0.0.1/32")
    limits = {name: Settings.model_fields[f"worker_{name}"].default  # production defaults, no env read
              for name in ("max_concurrent_activities", "max_concurrent_workflow_tasks", "max_cached_workflows")}
    queue = f"bench-steps-{uuid.uuid4().hex[:8]}"
    samples: dict[str, list[float]] = {kind: [] for kind in KINDS}
    try:
        async with HttpReceiver() as receiver, Worker(
            env.client, task_queue=queue, workflows=[RelayWorkflow, PlainWebhookSteps],
            activities=RelayActivities(activity_settings(settings), InMemoryConnectionStore()).list(), **limits,
        ):
            url = f"{receiver.url}/hook"
            for kind in KINDS:  # warm-up: imports, sandbox, server caches, the receiver's connection
                await measure(env.client, queue, kind, url, args.warmup, 1)
            for round_ in range(args.rounds):
                order = KINDS if round_ % 2 == 0 else tuple(reversed(KINDS))
                for kind in order:
                    samples[kind] += await measure(env.client, queue, kind, url, args.runs, args.concurrency)
                    print(f"  round {round_ + 1} {kind}: {args.runs} runs", flush=True)
            calls = len(receiver.requests)
    finally:
        await env.shutdown()

    expected = STEPS * (args.warmup + args.runs * args.rounds) * len(KINDS)
    print(f"\nreceiver got {calls} calls (expected {expected})")
    print(f"\n{'':12} {'runs':>5} {'p50 ms':>8} {'p95 ms':>8} {'ms/step p50':>12}")
    p50 = {}
    for kind in KINDS:
        values = samples[kind]
        p50[kind] = percentile(values, 0.5) * 1000
        print(f"{kind:12} {len(values):5d} {p50[kind]:8.1f} {percentile(values, 0.95) * 1000:8.1f} "
              f"{p50[kind] / STEPS:12.1f}")
    print(f"\nrelay (local steps) p50 / plain-local p50:   {p50['relay'] / p50['plain-local']:.2f}   (goal <= 1.5)")
    print(f"relay-30s (regular) p50 / plain p50:         {p50['relay-30s'] / p50['plain']:.2f}")
    print(f"plain p50 / plain-local p50:                 {p50['plain'] / p50['plain-local']:.2f}")
    print(f"load average at the end: {load_average()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="runs per kind per round (default 40)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds, order alternating (default 2)")
    parser.add_argument("--concurrency", type=int, default=1, help="runs in flight (default 1)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up runs per kind (default 3)")
    parser.add_argument("--eager", action="store_true",
                        help="start the dev server with system.enableActivityEagerExecution=true")
    from common import run_then_exit

    run_then_exit(main(parser.parse_args()))
