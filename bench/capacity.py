"""Long-running capacity: many runs asleep in a delay, then a signal and a cancel to some of them.

    .venv/bin/python bench/capacity.py [--runs 10000] [--steer 1000] [--concurrency 20] [--cache 1000]

One dev server; `relay api` and `relay worker` as their own processes (RELAY_ENV=test, SQLite,
RELAY_WORKER_MAX_CACHED_WORKFLOWS=--cache); the plain twin's worker is this script run with
--plain-worker, also its own process, with the same cache size and task slots. Per kind:

  start   --runs runs that sleep 1h: relay by POST /v1/workflows/{id}/trigger (a delay block),
          plain by client.start_workflow of PlainSleeper (workflow.sleep); --concurrency in flight
  settle  until the worker has run every run's first workflow task (the timer is started)
  signal  --steer of them: relay POST /v1/instances/{id}/events, plain handle.signal
  cancel  the same ones: relay POST /v1/instances/{id}/cancel (waits for the close), plain
          handle.cancel() + waiting for the close

RSS (VmRSS, and VmHWM = peak) of the worker, the API and the dev server comes from
/proc/<pid>/status, sampled as the runs start, so a worker whose memory follows the number of
runs rather than the sticky cache shows it. Plain goes first, then relay, on the same server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio import workflow

if not workflow.unsafe.in_sandbox():  # the sandbox re-imports this file: it finds `common` passed through
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    SCRIPT = str(Path(__file__).resolve())  # the plain twin's worker is this file; the sandbox refuses resolve()
with workflow.unsafe.imports_passed_through():
    from common import Stack, drive, header, load_average, rss_mb, spawn, stack, wait_for_poller

SLEEP = timedelta(hours=1)


@workflow.defn(name="PlainSleeper")
class PlainSleeper:
    def __init__(self) -> None:
        self.events: list[Any] = []

    @workflow.run
    async def run(self, name: str) -> int:
        await workflow.sleep(SLEEP)
        return len(self.events)

    @workflow.signal(name="event")
    def on_event(self, payload: Any) -> None:
        self.events.append(payload)


async def plain_worker(address: str, task_queue: str, cache: int) -> None:
    """The plain twin's worker process: the production slot settings, the same cache size."""
    import signal

    from temporalio.client import Client
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.worker import Worker

    client = await Client.connect(address, data_converter=pydantic_data_converter)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    async with Worker(client, task_queue=task_queue, workflows=[PlainSleeper], max_concurrent_activities=100,
                      max_concurrent_workflow_tasks=100, max_cached_workflows=cache,
                      graceful_shutdown_timeout=timedelta(seconds=5)):
        await stop.wait()


# ------------------------------------------------------------------------ measuring


class Rss:
    """Samples the RSS of named processes once a second, against how many runs have started."""

    def __init__(self, **pids: int) -> None:
        self.pids = pids
        self.rows: list[tuple[int, dict[str, float]]] = []
        self.started = 0
        self.task: asyncio.Task | None = None

    def now(self) -> dict[str, float]:
        return {name: rss_mb(pid)[0] for name, pid in self.pids.items()}

    def peak(self, name: str) -> float:
        return rss_mb(self.pids[name])[1]

    async def _loop(self) -> None:
        while True:
            self.rows.append((self.started, self.now()))
            await asyncio.sleep(1)

    def __enter__(self) -> Rss:
        self.task = asyncio.get_running_loop().create_task(self._loop())
        return self

    def __exit__(self, *_: Any) -> None:
        if self.task:
            self.task.cancel()


async def settle(client: Any, workflow_ids: list[str], timeout: float) -> float:
    """Seconds until the last started runs all have their timer (history >= 5 events)."""
    began = time.perf_counter()
    tail = workflow_ids[-20:]
    while time.perf_counter() - began < timeout:
        lengths = [(await client.get_workflow_handle(wid).describe()).raw_description.workflow_execution_info
                   .history_length for wid in tail]
        if min(lengths) >= 5:
            return time.perf_counter() - began
        await asyncio.sleep(0.5)
    return float("nan")


async def measure(kind: str, running: Stack, worker_pid: int, args: argparse.Namespace,
                  start: Any, signal: Any, cancel: Any, ids: list[str]) -> dict[str, Any]:
    pids = {"worker": worker_pid, "server": running.temporal.pid}
    if kind == "relay":
        pids["api"] = running.api.pid
    rss = Rss(**pids)
    result: dict[str, Any] = {"kind": kind, "idle": rss.now()}
    checkpoints = sorted({max(1, args.runs * q // 4) for q in (1, 2, 3, 4)})

    async def counted(index: int) -> None:
        await start(index)
        rss.started += 1

    with rss:
        result["start"] = await drive(f"{kind} start", counted, count=args.runs, concurrency=args.concurrency)
        print(f"  {kind}: {args.runs} started in {result['start'].seconds:.1f}s ({result['start'].rate:.1f}/s, "
              f"{result['start'].errors} errors)  load {load_average()}", flush=True)
        result["settle"] = await settle(running.client, ids, timeout=600)
        result["settled"] = rss.now()
        print(f"  {kind}: worker caught up {result['settle']:.1f}s later; RSS {fmt(result['settled'])}", flush=True)
    result["by_started"] = [(n, next((row for started, row in rss.rows if started >= n), rss.now()))
                            for n in checkpoints]
    steer = min(args.steer, args.runs)
    result["signal"] = await drive(f"{kind} signal", signal, count=steer, concurrency=args.concurrency)
    await asyncio.sleep(2)
    result["after_signal"] = rss.now()
    result["cancel"] = await drive(f"{kind} cancel", cancel, count=steer, concurrency=args.concurrency)
    result["after_cancel"] = rss.now()
    result["peak"] = {name: rss.peak(name) for name in pids}
    print(f"  {kind}: signal {result['signal'].rate:.1f}/s, cancel {result['cancel'].rate:.1f}/s "
          f"(errors {result['signal'].errors}/{result['cancel'].errors}); RSS {fmt(result['after_cancel'])}  "
          f"load {load_average()}", flush=True)
    return result


def fmt(rss: dict[str, float]) -> str:
    return ", ".join(f"{name} {mb:.0f} MiB" for name, mb in rss.items())


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(f"\n{args.runs} runs per kind asleep for 1h, {min(args.steer, args.runs)} signalled then cancelled, "
          f"sticky cache {args.cache}, {args.concurrency} in flight")
    print(f"  {'':6} {'start/s':>8} {'start p50':>10} {'p99 ms':>8} {'settle s':>9} {'signal/s':>9} {'sig p99':>8} "
          f"{'cancel/s':>9} {'cnl p99':>8} {'errors':>7}")
    for r in results:
        s, g, c = r["start"], r["signal"], r["cancel"]
        print(f"  {r['kind']:6} {s.rate:8.1f} {s.ms(.5):10.1f} {s.ms(.99):8.1f} {r['settle']:9.1f} {g.rate:9.1f} "
              f"{g.ms(.99):8.1f} {c.rate:9.1f} {c.ms(.99):8.1f} {s.errors + g.errors + c.errors:7d}")
    print("\n  RSS MiB        idle   " + "".join(f"{n:>8}" for n, _ in results[0]["by_started"])
          + "  settled  signal  cancel    peak")
    for r in results:
        for name in r["idle"]:
            row = [r["idle"][name], *(snap[name] for _, snap in r["by_started"]), r["settled"][name],
                   r["after_signal"][name], r["after_cancel"][name], r["peak"][name]]
            print(f"  {r['kind']:5} {name:7}" + "".join(f"{v:8.0f}" for v in row))
    plain, relay = results
    print(f"\n  ratio relay/plain: start/s {relay['start'].rate / plain['start'].rate:.2f}, "
          f"signal/s {relay['signal'].rate / plain['signal'].rate:.2f}, "
          f"cancel/s {relay['cancel'].rate / plain['cancel'].rate:.2f}, "
          f"worker RSS growth (settled - idle) {(relay['settled']['worker'] - relay['idle']['worker']) / max(1.0, plain['settled']['worker'] - plain['idle']['worker']):.2f}")


# ------------------------------------------------------------------------ main


async def main(args: argparse.Namespace) -> None:
    import httpx

    header(sys.argv)
    async with stack(worker_max_cached_workflows=str(args.cache)) as running:
        await running.start_api()
        await running.start_worker()
        _, key = running.create_key()
        plain_queue = f"plain-sleep-{uuid.uuid4().hex[:8]}"
        plain = spawn([sys.executable, SCRIPT, "--plain-worker", running.address, plain_queue,
                       str(args.cache)], env=running.env, log=running.log("plain-worker"))
        running.extra.append(plain)
        await wait_for_poller(running.client, plain_queue, plain)
        results = []

        plain_ids: list[str] = []

        async def plain_start(index: int) -> None:
            workflow_id = f"sleeper-{index}-{uuid.uuid4().hex[:6]}"
            plain_ids.append(workflow_id)
            await running.client.start_workflow("PlainSleeper", f"run {index}", id=workflow_id, task_queue=plain_queue)

        async def plain_signal(index: int) -> None:
            await running.client.get_workflow_handle(plain_ids[index]).signal("event", {"name": "poke", "n": index})

        async def plain_cancel(index: int) -> None:
            handle = running.client.get_workflow_handle(plain_ids[index])
            await handle.cancel()
            with contextlib.suppress(Exception):  # cancelled: closed
                await handle.result()

        await asyncio.sleep(3)  # both workers idle, imports done: the idle RSS is comparable
        results.append(await measure("plain", running, plain.pid, args, plain_start, plain_signal, plain_cancel,
                                     plain_ids))

        limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
        async with httpx.AsyncClient(base_url=running.api_url, headers={"Authorization": f"Bearer {key}"},
                                     timeout=60, limits=limits) as http:
            created = await http.post("/v1/workflows", json={
                "name": "bench-sleep", "max_triggers_per_day": None,
                "workflow_blocks": [{"$kind": "Block", "type": "delay", "id": "nap", "inputs": {"duration": "1h"}}]})
            assert created.status_code == 201, created.text
            workflow_id = created.json()["data"]["id"]
            instances: list[str] = []
            temporal_ids: list[str] = []

            async def relay_start(index: int) -> None:
                response = await http.post(f"/v1/workflows/{workflow_id}/trigger", json={"data": {"n": index}})
                if response.status_code != 201:
                    raise RuntimeError(response.text)
                data = response.json()["data"]
                instances.append(data["id"])
                temporal_ids.append(data["temporal"]["workflow_id"])

            async def relay_signal(index: int) -> None:
                response = await http.post(f"/v1/instances/{instances[index]}/events",
                                           json={"name": "poke", "payload": {"n": index}})
                if response.status_code != 202:
                    raise RuntimeError(response.text)

            async def relay_cancel(index: int) -> None:
                response = await http.post(f"/v1/instances/{instances[index]}/cancel")
                if response.status_code != 200 or response.json()["data"]["status"] != "cancelled":
                    raise RuntimeError(response.text)

            results.append(await measure("relay", running, running.worker.pid, args, relay_start, relay_signal,
                                         relay_cancel, temporal_ids))
        report(results, args)
        print(f"\nload average at the end: {load_average()}")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--plain-worker":
        asyncio.run(plain_worker(sys.argv[2], sys.argv[3], int(sys.argv[4])))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000, help="sleeping runs per kind (10000)")
    parser.add_argument("--steer", type=int, default=1000, help="runs signalled, then cancelled, per kind (1000)")
    parser.add_argument("--concurrency", type=int, default=20, help="calls in flight (20)")
    parser.add_argument("--cache", type=int, default=1000, help="max_cached_workflows of both workers (1000)")
    from common import run_then_exit

    run_then_exit(main(parser.parse_args()))
