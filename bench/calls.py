"""The cost of a waited call_workflow (#17): trigger to completed, one run at a time.

    .venv/bin/python bench/calls.py [--runs 30] [--rounds 2]

Starts its own dev server, `relay api` and `relay worker` (bench/common.py), and measures through
the API and Temporal (latency = the trigger request until the run's result):

  relay-one     a workflow with one `delay 0s` block (a run's own cost)
  relay-call    a workflow whose one block is a waited call_workflow of relay-one: the
                prepare_call activity (admission against the callee's breaker and quotas) plus
                a child RelayWorkflow
  plain-child   the plain-Temporal twin in this process: a parent workflow that executes an
                empty child workflow (no activity, no admission)

Rounds alternate the order of kinds so drift hits all of them. Figures: docs/performance.md.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid

from temporalio import workflow
from temporalio.worker import Worker

with workflow.unsafe.imports_passed_through():
    from common import Sample, header, load_average, percentile, stack  # common puts the repo on sys.path

KINDS = ("relay-one", "relay-call", "plain-child")


@workflow.defn(name="BenchEmptyChild", sandboxed=False)
class EmptyChild:
    @workflow.run
    async def run(self) -> str:
        return "done"


@workflow.defn(name="BenchParent", sandboxed=False)
class Parent:
    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_child_workflow(EmptyChild.run, id=f"{workflow.info().workflow_id}-child")


async def main(runs: int, rounds: int) -> None:
    import httpx

    header(sys.argv)
    async with stack() as running:
        await running.start_api()
        await running.start_worker()
        _, key = running.create_key()
        http = httpx.AsyncClient(base_url=running.api_url, headers={"Authorization": f"Bearer {key}"}, timeout=30)
        one = (await http.post("/v1/workflows", json={"name": "one", "max_triggers_per_day": None, "workflow_blocks": [
            {"$kind": "Block", "type": "delay", "id": "d", "inputs": {"duration": "0s"}}]})).json()["data"]["id"]
        caller = (await http.post("/v1/workflows", json={"name": "caller", "max_triggers_per_day": None,
                                                         "workflow_blocks": [{"$kind": "Block", "type": "call_workflow",
                                                                              "id": "c", "inputs": {"workflow_id": one}}]}
                                  )).json()["data"]["id"]
        queue = f"bench-calls-{uuid.uuid4().hex[:6]}"

        async def relay_run(workflow_id: str) -> None:
            started = (await http.post(f"/v1/workflows/{workflow_id}/trigger", json={})).json()["data"]
            state = await running.client.get_workflow_handle(started["temporal"]["workflow_id"]).result()
            assert state["status"] == "completed", state

        async def plain_run() -> None:
            await running.client.execute_workflow(Parent.run, id=f"plain-{uuid.uuid4().hex}", task_queue=queue)

        calls = {"relay-one": lambda: relay_run(one), "relay-call": lambda: relay_run(caller),
                 "plain-child": plain_run}
        samples = {kind: Sample(kind) for kind in KINDS}
        async with Worker(running.client, task_queue=queue, workflows=[Parent, EmptyChild]):
            for kind in KINDS:  # warm up
                await calls[kind]()
            for round_ in range(rounds):
                order = KINDS if round_ % 2 == 0 else tuple(reversed(KINDS))
                for kind in order:
                    for _ in range(runs):
                        began = time.perf_counter()
                        await calls[kind]()
                        samples[kind].latencies.append(time.perf_counter() - began)
        await http.aclose()
    print(f"load average at the end: {load_average()}")
    print(f"{'kind':<12} {'runs':>5} {'p50 ms':>8} {'p95 ms':>8}")
    for kind in KINDS:
        sample = samples[kind]
        print(f"{kind:<12} {sample.count:>5} {sample.ms(0.5):>8.1f} {sample.ms(0.95):>8.1f}")
    extra = percentile(samples["relay-call"].latencies, 0.5) - percentile(samples["relay-one"].latencies, 0.5)
    print(f"a waited call adds {extra * 1000:.1f} ms at p50 to a run (the plain child run: "
          f"{samples['plain-child'].ms(0.5):.1f} ms end to end)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=2)
    arguments = parser.parse_args()
    from common import run_then_exit

    run_then_exit(main(arguments.runs, arguments.rounds))
