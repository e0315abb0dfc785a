"""Event → first side effect: POST /v1/events until the webhook arrives at a local receiver.

    .venv/bin/python bench/latency.py [--runs 60] [--rounds 2] [--phases dev,split] [--cases relay,relay-local,plain]
    .venv/bin/python bench/latency.py --profile DIR   # py-spy of the Relay processes, summaries in DIR

A one-step event workflow (`trigger_type: event`, one `webhook` Action posting to a receiver in
this process), events posted one at a time; the latency of one event is the time from just
before the POST to the receiver reading the webhook's request (one clock: the receiver runs in
this process). Two phases, each on its own dev server (app.devserver.start_temporal, as
`relay dev` starts it):

  dev    `relay dev` as one process (dev server, API and worker in one tree)
  split  `relay api` + `relay worker` as two processes against a dev server (bench/common.stack)
  with   `relay api --with-worker` (a worker in the API process; not run unless asked for)

and in each phase, on the same server, in the same run:

  relay        the webhook step with the default 30 s timeout: a regular activity
  relay-local  the same with "timeout": "2s": a local activity (Relay's rule for short steps)
  plain        the plain-Temporal twin: client.start_workflow from this process, a hand-written
               workflow whose one regular activity POSTs the same body to the same receiver
               (httpx), the worker in this process
  plain-local  the twin with a local activity

Rounds alternate the order of the cases so drift hits all of them. Goal (issue #19): relay p50
<= 25 ms and p95 <= 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from common import BENCH_RATE_LIMIT, ROOT, CpuMeter, header, load_average, percentile, spawn, stop, wait_http

CASES = ("relay", "relay-local", "plain", "plain-local")


# ------------------------------------------------------------------------ the receiver


class Receiver:
    """HTTP/1.1 on a free loopback port; notes when each request's body (JSON with "seq") is read."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.waiters: dict[str, asyncio.Future[float]] = {}
        self.server: asyncio.Server | None = None
        self.url = ""

    async def __aenter__(self) -> Receiver:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/hook"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    def expect(self, seq: str) -> asyncio.Future[float]:
        future = asyncio.get_running_loop().create_future()
        self.waiters[seq] = future
        return future

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                body = await reader.readexactly(length) if length else b""
                at = time.perf_counter()
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n"
                             b'{"ok":true}')
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    seq = str(json.loads(body)["seq"])
                    self.arrived.setdefault(seq, at)
                    future = self.waiters.pop(seq, None)
                    if future is not None and not future.done():
                        future.set_result(at)
                await writer.drain()
        writer.close()


# ------------------------------------------------------------------------ the plain twin


@activity.defn(name="bench_post")
async def bench_post(url: str, seq: str) -> int:
    import httpx

    global _http
    if _http is None:
        _http = httpx.AsyncClient(timeout=30)
    return (await _http.post(url, json={"seq": seq})).status_code


_http: Any = None


@workflow.defn(name="PlainOneStep")
class PlainOneStep:
    @workflow.run
    async def run(self, url: str, seq: str, local: bool) -> int:
        if local:
            return await workflow.execute_local_activity(bench_post, args=[url, seq],
                                                         start_to_close_timeout=timedelta(seconds=2))
        return await workflow.execute_activity(bench_post, args=[url, seq], start_to_close_timeout=timedelta(seconds=30))


# ------------------------------------------------------------------------ the phases


class Phase:
    """What one phase gives the cases: the API, its key, a Temporal client on the phase's server,
    and the Relay processes to profile or measure."""

    def __init__(self, name: str, api_url: str, key: str, client: Any, pids: dict[str, int]) -> None:
        self.name, self.api_url, self.key, self.client, self.pids = name, api_url, key, client, pids


def relay_env(data_dir: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "RELAY_LOG_LEVEL": "WARNING", "RELAY_RATE_LIMIT": BENCH_RATE_LIMIT,
            "RELAY_OUTBOUND_ALLOW": "127.0.0.0/8", "RELAY_WORKER_METRICS_PORT": "0", "PYTHONPATH": str(ROOT),
            **{f"RELAY_{k.upper()}": v for k, v in extra.items()}}


@contextlib.asynccontextmanager
async def dev_phase(args: argparse.Namespace) -> AsyncIterator[Phase]:
    """`relay dev` in a temp data dir; its printed admin key; a client on its dev server."""
    from temporalio.client import Client
    from temporalio.contrib.pydantic import pydantic_data_converter

    from app.devserver import free_port

    with tempfile.TemporaryDirectory(prefix="relay-bench-latency-") as tmp:
        data_dir = Path(tmp)
        port, temporal_port, ui_port = free_port(), free_port(), free_port()
        command = [sys.executable, "-m", "app.cli", "dev", "--port", str(port), "--temporal-port", str(temporal_port),
                   "--ui-port", str(ui_port), "--data-dir", str(data_dir)]
        process = spawn(command, env=relay_env(data_dir, env="dev", **args.relay_env), log=data_dir / "dev.log")
        try:
            await wait_http(f"http://127.0.0.1:{port}/readyz", process, timeout=120)
            key = (data_dir / "dev-key").read_text().strip()
            client = await Client.connect(f"127.0.0.1:{temporal_port}", data_converter=pydantic_data_converter)
            yield Phase("dev", f"http://127.0.0.1:{port}", key, client, {"relay dev": process.pid})
        finally:
            stop(process)


@contextlib.asynccontextmanager
async def split_phase(args: argparse.Namespace) -> AsyncIterator[Phase]:
    """`relay api` and `relay worker` as two processes on a dev server (bench/common.stack)."""
    from common import stack

    async with stack(tuned=not args.untuned_server, **args.relay_env) as running:
        await running.start_api()
        await running.start_worker()
        _, key = running.create_key()
        assert running.api is not None and running.worker is not None
        yield Phase("split", running.api_url, key, running.client,
                    {"relay api": running.api.pid, "relay worker": running.worker.pid, "temporal": running.temporal.pid})


@contextlib.asynccontextmanager
async def with_worker_phase(args: argparse.Namespace) -> AsyncIterator[Phase]:
    """`relay api --with-worker`: one process, the worker sharing the API's client (eager start)."""
    from common import stack, wait_for_poller

    async with stack(tuned=not args.untuned_server, **args.relay_env) as running:
        await running.start_api(options=("--with-worker",))
        assert running.api is not None
        await wait_for_poller(running.client, running.task_queue, running.api)
        _, key = running.create_key()
        yield Phase("with", running.api_url, key, running.client,
                    {"relay api": running.api.pid, "temporal": running.temporal.pid})


# ------------------------------------------------------------------------ measuring


async def make_workflows(http: Any, receiver: Receiver, tag: str) -> dict[str, str]:
    """One event workflow per relay case; the event type each one listens to."""
    types = {}
    for case, timeout in (("relay", None), ("relay-local", "2s")):
        event = f"bench.{tag}.{case.replace('-', '_')}"
        step: dict[str, Any] = {"$kind": "Action", "id": "notify", "type": "webhook",
                                "input": {"url": receiver.url, "method": "POST", "body": {"seq": "{{trigger.data.seq}}"}}}
        if timeout:
            step["timeout"] = timeout
        created = await http.post("/v1/workflows", json={"name": f"latency {case}", "trigger_type": "event",
                                                         "trigger_configuration": {"event": event},
                                                         "workflow_blocks": [step],
                                                         # more runs than the default breaker's 100 a day
                                                         "max_triggers_per_day": 1_000_000_000})
        assert created.status_code == 201, created.text
        types[case] = event
    return types


async def one_event(case: str, seq: str, http: Any, receiver: Receiver, phase: Phase, events: dict[str, str],
                    queue: str) -> tuple[float, float]:
    """(event → webhook arrival, the call's own latency) in seconds, for one event."""
    arrival = receiver.expect(seq)
    started = time.perf_counter()
    if case.startswith("relay"):
        answer = await http.post("/v1/events", json={"type": events[case], "data": {"seq": seq}})
        if answer.status_code != 202 or len(answer.json()["data"]["instances"]) != 1:
            raise RuntimeError(f"{case}: {answer.status_code} {answer.text}")
    else:
        await phase.client.start_workflow(PlainOneStep.run, args=[receiver.url, seq, case == "plain-local"],
                                          id=f"plain-{seq}", task_queue=queue)
    answered = time.perf_counter()
    at = await asyncio.wait_for(arrival, 30)
    return at - started, answered - started


async def run_phase(phase_name: str, args: argparse.Namespace, results: dict[str, dict[str, list[float]]],
                    profiles: dict[str, subprocess.Popen[bytes]]) -> None:
    import httpx
    from temporalio.worker import Worker

    opener = {"dev": dev_phase, "split": split_phase, "with": with_worker_phase}[phase_name]
    async with Receiver() as receiver, opener(args) as phase:
        queue = f"bench-latency-{uuid.uuid4().hex[:8]}"
        async with httpx.AsyncClient(base_url=phase.api_url, headers={"Authorization": f"Bearer {phase.key}"},
                                     timeout=30) as http, Worker(phase.client, task_queue=queue,
                                                                 workflows=[PlainOneStep], activities=[bench_post]):
            events = await make_workflows(http, receiver, phase_name)
            for case in args.cases:  # warm-up: imports, sandbox, connection pools, server caches
                for i in range(args.warmup):
                    await one_event(case, f"w-{phase_name}-{case}-{i}", http, receiver, phase, events, queue)
            if args.profile:
                profiles.update(start_profiles(phase, args.profile))
            meter = CpuMeter(**{name.replace(" ", "_"): pid for name, pid in phase.pids.items()})
            meter.start()
            for round_ in range(args.rounds):
                order = args.cases if round_ % 2 == 0 else tuple(reversed(args.cases))
                for case in order:
                    name = f"{phase_name} {case}"
                    series = results.setdefault(name, {"latency": [], "call": []})
                    for i in range(args.runs):
                        latency, call = await one_event(case, f"{phase_name}-{case}-{round_}-{i}", http, receiver,
                                                        phase, events, queue)
                        series["latency"].append(latency)
                        series["call"].append(call)
                        await asyncio.sleep(args.gap)
                    print(f"  {name:24} round {round_ + 1}: p50 {percentile(series['latency'], .5) * 1000:6.1f} ms "
                          f"load {load_average()}", flush=True)
            used = meter.stop()
            for name in list(profiles):
                stop_profile(profiles, name)
            events_count = args.rounds * args.runs * sum(1 for c in args.cases if c.startswith("relay"))
            print(f"  {phase_name}: Relay CPU per relay event (ms, all cases' twins included in 'bench'): " + ", ".join(
                f"{k} {1000 * v / max(1, events_count):.1f}" for k, v in used.items()), flush=True)


# ------------------------------------------------------------------------ profiling


def start_profiles(phase: Phase, directory: Path) -> dict[str, subprocess.Popen[bytes]]:
    """py-spy on each Relay process of the phase: collapsed stacks of the thread holding the GIL
    (so where its Python CPU goes), sampled without pausing the process."""
    directory.mkdir(parents=True, exist_ok=True)
    spy = str(Path(sys.executable).parent / "py-spy")
    started = {}
    for name, pid in phase.pids.items():
        if name == "temporal":
            continue
        out = directory / f"{phase.name}-{name.replace(' ', '-')}.txt"
        started[str(out)] = subprocess.Popen([spy, "record", "--pid", str(pid), "--format", "raw", "--rate", "200", "--gil", "--nonblocking",
                                              "--subprocesses", "--output", str(out)],
                                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return started


def stop_profile(profiles: dict[str, subprocess.Popen[bytes]], out: str) -> None:
    import signal

    process = profiles.pop(out)
    process.send_signal(signal.SIGINT)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(30)
    summarise(Path(out))


def summarise(path: Path, top: int = 25) -> None:
    """The functions holding most samples (inclusive, once per stack), from py-spy's collapsed stacks."""
    if not path.exists():
        print(f"  (no profile at {path})")
        return
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack_text, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [f.split(" (")[0] + " (" + f.split(" (")[1].split(":")[0].split("/")[-1] + ")" if " (" in f else f
                  for f in stack_text.split(";")]
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + count
        own[frames[-1]] = own.get(frames[-1], 0) + count
    print(f"\n== py-spy {path.name}: {total} samples (non-idle)")
    print("  inclusive:")
    for frame, count in sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]:
        print(f"    {100 * count / max(1, total):5.1f}%  {frame}")
    print("  own:")
    for frame, count in sorted(own.items(), key=lambda kv: -kv[1])[:15]:
        print(f"    {100 * count / max(1, total):5.1f}%  {frame}")


# ------------------------------------------------------------------------ report


def report(results: dict[str, dict[str, list[float]]]) -> None:
    print(f"\n{'':26} {'events':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'call p50 ms':>12}")
    for name, series in results.items():
        values = series["latency"]
        print(f"  {name:24} {len(values):6d} {percentile(values, .5) * 1000:8.1f} {percentile(values, .95) * 1000:8.1f} "
              f"{percentile(values, .99) * 1000:8.1f} {percentile(series['call'], .5) * 1000:12.1f}")
    for phase in ("dev", "split", "with"):
        for relay, plain in (("relay", "plain"), ("relay-local", "plain-local")):
            a, b = results.get(f"{phase} {relay}"), results.get(f"{phase} {plain}")
            if a and b:
                print(f"  {phase}: {relay} p50 / {plain} p50 = "
                      f"{percentile(a['latency'], .5) / percentile(b['latency'], .5):.2f}")
    print("  goal: relay p50 <= 25 ms, p95 <= 50 ms")


async def main(args: argparse.Namespace) -> None:
    header(sys.argv)
    results: dict[str, dict[str, list[float]]] = {}
    profiles: dict[str, subprocess.Popen[bytes]] = {}
    for phase in args.phases:
        await run_phase(phase, args, results, profiles)
    report(results)
    print(f"load average at the end: {load_average()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=60, help="events per case per round (60)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds, order alternating (2)")
    parser.add_argument("--warmup", type=int, default=5, help="warm-up events per case (5)")
    parser.add_argument("--gap", type=float, default=0.02, help="seconds between events (0.02)")
    parser.add_argument("--phases", default="dev,split", help="some of dev,split,with (dev,split)")
    parser.add_argument("--untuned-server", action="store_true",
                        help="split/with: the dev server without app.devserver.LATENCY_CONFIG (for comparison)")
    parser.add_argument("--cases", default=",".join(CASES), help=f"some of {','.join(CASES)}")
    parser.add_argument("--relay-env", action="append", default=[], metavar="NAME=VALUE",
                        help="a RELAY_<NAME> setting for the Relay processes (repeatable)")
    parser.add_argument("--profile", type=Path, default=None, metavar="DIR",
                        help="py-spy the Relay processes during the measured rounds; summaries printed")
    parsed = parser.parse_args()
    parsed.phases = tuple(parsed.phases.split(","))
    parsed.cases = tuple(parsed.cases.split(","))
    parsed.relay_env = dict(item.split("=", 1) for item in parsed.relay_env)
    from common import run_then_exit

    run_then_exit(main(parsed))
