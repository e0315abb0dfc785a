"""Shared by bench/trigger.py, capacity.py and api_load.py: a dev server, `relay api` and
`relay worker` as separate processes, a key, and the small measuring helpers.

Every bench starts its own Temporal dev server (app.devserver.start_temporal, SQLite file in a
temp dir, free ports) and runs Relay the way production does: `relay api` and `relay worker`
as their own processes with RELAY_ENV=test and a SQLite database in the same temp dir, so
their CPU and RSS can be read from /proc. The plain-Temporal twin of each figure runs in the
bench process against the same server, in the same run.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `python bench/x.py` from the repo root imports app/, workflows/

BIN = Path(sys.executable).parent

# Tuned for the benches (and said so in docs/performance.md): one key drives every request,
# so the per-key limit (default 600/minute) would otherwise measure the limiter, not the path.
BENCH_RATE_LIMIT = "10000000/minute"


# ------------------------------------------------------------------------ the machine


def run_then_exit(coroutine: Coroutine[Any, Any, Any]) -> None:
    """asyncio.run for a bench's main, then leave without the interpreter's finalization: the
    Temporal client's Rust threads can abort a finalizing interpreter ("Fatal Python error:
    PyGILState_Release", SIGABRT; temporalio/sdk-python#300), which ended about one bench run in
    three with exit 134 after its figures were printed. An exception still ends it as usual."""
    asyncio.run(coroutine)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def machine_line() -> str:
    import temporalio

    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or "?")
    return (f"machine: {os.cpu_count()} cores ({model}), python {platform.python_version()}, "
            f"temporalio {temporalio.__version__}, {platform.system()} {platform.release()}")


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def header(argv: list[str]) -> None:
    print(machine_line())
    print(f"load average at the start: {load_average()}")
    print(f"command: {Path(sys.executable).name} {' '.join(argv)}", flush=True)


# ------------------------------------------------------------------------ /proc


def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MiB: resident now, and its peak."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


def cpu_seconds(pid: int) -> float:
    """User+system CPU of one process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds used by some processes between start() and stop()."""

    def __init__(self, **pids: int) -> None:
        self.pids = pids
        self.before: dict[str, float] = {}

    def start(self) -> None:
        self.before = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        self.before["bench"] = time.process_time()

    def stop(self) -> dict[str, float]:
        used = {name: cpu_seconds(pid) - self.before[name] for name, pid in self.pids.items()}
        used["bench"] = time.process_time() - self.before["bench"]
        return used


# ------------------------------------------------------------------------ statistics


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


@dataclass
class Sample:
    """Latencies (seconds) of `count` calls made in `seconds` of wall clock."""

    name: str
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    errors: int = 0
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def ms(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000 if self.latencies else float("nan")

    def merge(self, other: Sample) -> Sample:
        cpu = {k: self.cpu.get(k, 0.0) + other.cpu.get(k, 0.0) for k in {*self.cpu, *other.cpu}}
        return Sample(self.name, self.latencies + other.latencies, self.seconds + other.seconds,
                      self.errors + other.errors, cpu)

    def cpu_ms_per_call(self, process: str) -> float:
        return 1000 * self.cpu.get(process, 0.0) / max(1, self.count)


async def drive(name: str, call: Callable[[int], Awaitable[Any]], *, count: int | None = None,
                seconds: float | None = None, concurrency: int = 1, meter: CpuMeter | None = None) -> Sample:
    """`concurrency` loops calling `call(i)` until `count` calls are made or `seconds` have passed."""
    sample = Sample(name)
    issued = 0
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds if seconds else None

    async def worker() -> None:
        nonlocal issued
        while (count is None or issued < count) and (deadline is None or loop.time() < deadline):
            index = issued
            issued += 1
            started = time.perf_counter()
            try:
                await call(index)
            except Exception:  # noqa: BLE001 - counted and reported; a bench must not stop at one error
                sample.errors += 1
                continue
            sample.latencies.append(time.perf_counter() - started)

    if meter:
        meter.start()
    wall = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    sample.seconds = time.perf_counter() - wall
    if meter:
        sample.cpu = meter.stop()
    return sample


# ------------------------------------------------------------------------ processes


def _die_with_parent() -> None:  # in the child, before exec: no orphans if the bench is killed
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def spawn(args: list[str], *, env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:  # the child holds its own copy of the descriptor
        return subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                                preexec_fn=_die_with_parent)


def stop(process: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 20.0) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class Stack:
    """A dev server, and (once started) `relay api` / `relay worker` processes, in one temp dir."""

    data_dir: Path
    address: str
    temporal: subprocess.Popen
    env: dict[str, str]
    client: Any = None  # the bench's own Temporal client (pydantic converter): the plain twin's
    api: subprocess.Popen | None = None
    api_url: str = ""
    worker: subprocess.Popen | None = None
    extra: list[subprocess.Popen] = field(default_factory=list)

    @property
    def task_queue(self) -> str:
        return self.env["RELAY_TASK_QUEUE"]

    def log(self, name: str) -> Path:
        return self.data_dir / f"{name}.log"

    async def start_api(self, *, profile_to: Path | None = None, options: tuple[str, ...] = ()) -> str:
        from app.devserver import free_port

        port = free_port()
        command = [sys.executable, "-m", "app.cli", "api", "--host", "127.0.0.1", "--port", str(port), *options]
        if profile_to is not None:  # `python -m cProfile -o FILE -m app.cli api`; SIGINT ends it cleanly
            command[1:1] = ["-m", "cProfile", "-o", str(profile_to)]
        self.api = spawn(command, env=self.env, log=self.log("api"))
        self.api_url = f"http://127.0.0.1:{port}"
        await wait_http(f"{self.api_url}/readyz", self.api)
        return self.api_url

    async def start_worker(self) -> None:
        self.worker = spawn([sys.executable, "-m", "app.cli", "worker"], env=self.env, log=self.log("worker"))
        await wait_for_poller(self.client, self.task_queue, self.worker)

    def create_key(self) -> tuple[str, str]:
        """(tenant id, admin key) of the tenant `bench`, made with `relay keys create`."""
        done = subprocess.run([sys.executable, "-m", "app.cli", "keys", "create", "--tenant", "bench",
                               "--scope", "admin", "--name", "bench"],
                              env=self.env, cwd=ROOT, capture_output=True, text=True, check=True)
        lines = done.stdout.strip().splitlines()
        tenant_id = lines[-2].split("(", 1)[1].split(")", 1)[0]  # "tenant bench (ten_…); scopes …"
        return tenant_id, lines[-1]


async def wait_http(url: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2) as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{process.args} exited with {process.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(url)).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {timeout:.0f}s")


async def connect_when_ready(port: int, server: subprocess.Popen | None) -> Any:
    """A client (pydantic converter) of the dev server `server` on `port`, once its frontend answers."""
    from temporalio.client import Client
    from temporalio.contrib.pydantic import pydantic_data_converter

    from app import devserver

    await devserver.wait_for_port(port, process=server, timeout=90)
    return await devserver.connect_when_ready(
        lambda: Client.connect(f"127.0.0.1:{port}", data_converter=pydantic_data_converter))


async def wait_for_poller(client: Any, task_queue: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    """Until a worker polls `task_queue` for workflow tasks."""
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        described = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
            namespace="default", task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW))
        if described.pollers:
            return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"no worker polls {task_queue} after {timeout:.0f}s")


@contextlib.asynccontextmanager
async def stack(*, tuned: bool = True, **settings: str) -> AsyncIterator[Stack]:
    """A dev server on free ports; the Relay environment for `relay api|worker` (RELAY_<NAME>=value)."""

    from app.devserver import free_port, start_temporal, stop_process

    with tempfile.TemporaryDirectory(prefix="relay-bench-") as tmp:
        data_dir = Path(tmp)
        port = free_port()
        temporal = start_temporal(data_dir=data_dir, port=port, ui_port=free_port(),
                                  log_file=data_dir / "temporal.log", tuned=tuned)
        env = {
            **os.environ,
            "RELAY_ENV": "test",
            "RELAY_DATABASE_URL": f"sqlite:///{data_dir / 'relay.db'}",
            "RELAY_TEMPORAL_ADDRESS": f"127.0.0.1:{port}",
            "RELAY_TASK_QUEUE": f"relay-bench-{uuid.uuid4().hex[:8]}",
            "RELAY_RATE_LIMIT": BENCH_RATE_LIMIT,
            "RELAY_LOG_LEVEL": "WARNING",
            "RELAY_WORKER_METRICS_PORT": "0",
            "RELAY_OUTBOUND_ALLOW": "127.0.0.0/8",
            "PYTHONPATH": str(ROOT),
        }
        env.update({f"RELAY_{name.upper()}": value for name, value in settings.items()})
        running = Stack(data_dir=data_dir, address=f"127.0.0.1:{port}", temporal=temporal, env=env)
        try:
            running.client = await connect_when_ready(port, temporal)
            yield running
        finally:
            for process in (*running.extra, running.worker):
                stop(process)
            stop(running.api, signal.SIGINT)
            await asyncio.to_thread(stop_process, temporal)


def mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else float("nan")
