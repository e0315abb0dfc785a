"""Process plumbing for the fault drills: a real Temporal dev server, `relay api` and `relay worker`
as subprocesses on free loopback ports, that a drill can stop, kill and start again.

    drill = Drill(tmp_path)                 # ports, task queue, settings for every process
    await drill.start_all(workers=1)        # all of the next three
    await drill.start_temporal()            # SQLite file in tmp_path, Relay's search attributes
    await drill.create_key()                # `relay keys create --tenant drill --scope admin`
    await drill.start_api(); worker = await drill.start_worker()   # ready: /readyz 200; polling
    drill.kill(worker)                      # SIGKILL; drill.stop(...) is SIGTERM, then SIGKILL
    await drill.count_runs(workflow_id, "Completed")   # Temporal visibility
    await drill.close()                     # every process it started is stopped and reaped

Every child asks the kernel for SIGTERM when the test process dies (PR_SET_PDEATHSIG), so
even a test run that is itself killed leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from app.devserver import free_port, start_temporal, wait_for_port

RELAY = str(Path(sys.executable).parent / "relay")
TENANT = "drill"


def trigger_body(data: dict[str, Any] | None) -> bytes:
    """The JSON of a trigger request. The Idempotency-Key fingerprint covers the raw body, so a
    client's retry must send the same bytes (a re-encoded body with other spacing is a 409)."""
    return json.dumps({"data": data or {}}, separators=(",", ":"), sort_keys=True).encode()


def _die_with_parent() -> None:  # in the child, before exec
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Process:
    """One child process; its stdout and stderr go to `log_file` (appended across restarts)."""

    def __init__(self, name: str, popen: subprocess.Popen, log_file: Path) -> None:
        self.name, self.popen, self.log_file = name, popen, log_file

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def running(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, like a machine losing power under the process."""
        if self.running:
            self.popen.kill()
        self.popen.wait()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        """A graceful stop (SIGTERM or SIGINT), then SIGKILL if it is not gone within `timeout`."""
        if self.running:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
        self.popen.wait()

    def tail(self, lines: int = 30) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


class Drill:
    """A Relay deployment of separate processes on one machine, for one test."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.temporal_port, self.ui_port, self.api_port = free_port(), free_port(), free_port()
        self.task_queue = f"drill-{uuid.uuid4().hex[:10]}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")} | {
            "RELAY_ENV": "test",
            "RELAY_SECRET_KEY": secrets.token_urlsafe(32),
            "RELAY_DATABASE_URL": f"sqlite:///{tmp / 'relay.db'}",
            "RELAY_TEMPORAL_ADDRESS": f"127.0.0.1:{self.temporal_port}",
            "RELAY_TASK_QUEUE": self.task_queue,
            "RELAY_OUTBOUND_ALLOW": "127.0.0.1/32",
            "RELAY_PUBLIC_URL": f"http://127.0.0.1:{self.api_port}",
            "RELAY_TEMPORAL_UI_URL": f"http://127.0.0.1:{self.ui_port}",
            "RELAY_RATE_LIMIT": "100000/minute",  # the drills measure recovery, not the rate limiter
            "RELAY_LOG_FORMAT": "console",
        }
        self.temporal: Process | None = None
        self.api: Process | None = None
        self.workers: list[Process] = []
        self.key = ""
        self.tenant_id = ""
        self._client: Client | None = None
        self._started: list[Process] = []

    # ------------------------------------------------------------------ processes

    def _spawn(self, name: str, *args: str, **env: str) -> Process:
        log_file = self.tmp / f"{name}.log"
        with open(log_file, "ab") as log:
            popen = subprocess.Popen([RELAY, *args], env=self.env | env, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        process = Process(name, popen, log_file)
        self._started.append(process)
        return process

    async def start_all(self, workers: int = 1) -> None:
        """Temporal, the key, then the API and `workers` workers side by side (as an operator would)."""
        await self.start_temporal()
        await self.create_key()
        await asyncio.gather(self.start_api(), *(self.start_worker() for _ in range(workers)))

    async def start_temporal(self) -> Process:
        """The dev server on this drill's ports and database file (the same ones on a restart)."""
        assert self.temporal is None or not self.temporal.running, "Temporal is already running"
        log_file = self.tmp / "temporal.log"
        popen = start_temporal(data_dir=self.tmp, port=self.temporal_port, ui_port=self.ui_port, log_file=log_file)
        self.temporal = Process("temporal", popen, log_file)
        self._started.append(self.temporal)
        await wait_for_port(self.temporal_port, process=popen)
        client = await self.client()
        deadline = time.monotonic() + 30
        while True:  # the port opens before the frontend answers
            try:
                await client.count_workflows("WorkflowType = 'RelayWorkflow'")
                break
            except Exception:  # any failure: not up yet
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)
        return self.temporal

    def stop_temporal(self, sig: int = signal.SIGTERM) -> None:
        assert self.temporal is not None
        self.temporal.stop(sig)

    async def create_key(self) -> str:
        """`relay keys create` as an operator runs it; the key is the last line of its output."""
        done = await asyncio.create_subprocess_exec(
            RELAY, "keys", "create", "--tenant", TENANT, "--scope", "admin", env=self.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        output, _ = await asyncio.wait_for(done.communicate(), timeout=60)
        text = output.decode(errors="replace")
        assert done.returncode == 0, text
        lines = text.strip().splitlines()
        self.key = lines[-1].strip()
        assert self.key.startswith("rly_"), text
        self.tenant_id = lines[-2].split("(", 1)[1].split(")", 1)[0]  # "tenant drill (ten_…); scopes …"
        return self.key

    async def start_api(self, timeout: float = 60) -> Process:
        assert self.api is None or not self.api.running, "the API is already running"
        for attempt in range(3):
            self.api = self._spawn("api", "api", "--host", "127.0.0.1", "--port", str(self.api_port))
            try:
                await self.wait_ready(timeout)
                return self.api
            except AssertionError:
                if attempt == 2 or self.api.running or "address already in use" not in self.api.tail():
                    raise
            # The free port chosen earlier was taken before the API bound it (another listener of
            # the suite got it from the OS): choose again, the public URL with it.
            self.api_port = free_port()
            self.env["RELAY_PUBLIC_URL"] = self.url
        raise AssertionError("unreachable")

    async def start_replica(self, timeout: float = 60) -> tuple[Process, str]:
        """Another `relay api` beside the first, on a port of its own and the same settings; (process, its URL)."""
        port = free_port()
        replica = self._spawn(f"api-{port}", "api", "--host", "127.0.0.1", "--port", str(port))
        await self.wait_ready(timeout, api=replica, url=f"http://127.0.0.1:{port}")
        return replica, f"http://127.0.0.1:{port}"

    async def wait_ready(self, timeout: float = 60, *, api: Process | None = None, url: str | None = None) -> None:
        """/healthz answers 200, then /readyz (database and Temporal reachable) answers 200."""
        api = api or self.api
        assert api is not None
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=url or self.url, timeout=5) as http:
            for path in ("/healthz", "/readyz"):
                while True:
                    assert api.running, f"the API exited with {api.popen.returncode}:\n{api.tail()}"
                    try:
                        if (await http.get(path)).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    assert time.monotonic() < deadline, f"{path} did not answer 200 in {timeout}s:\n{api.tail()}"
                    await asyncio.sleep(0.1)

    async def start_worker(self, timeout: float = 60) -> Process:
        """A `relay worker`; returns once it polls this drill's task queue (seen by Temporal)."""
        # Each worker serves the SDK's Prometheus metrics on a port of its own (drills run side by side).
        worker = self._spawn(f"worker{len(self.workers) + 1}", "worker", RELAY_WORKER_METRICS_PORT=str(free_port()))
        self.workers.append(worker)
        deadline = time.monotonic() + timeout
        while not await self._polling(worker.pid):
            assert worker.running, f"the worker exited with {worker.popen.returncode}:\n{worker.tail()}"
            assert time.monotonic() < deadline, f"the worker did not poll in {timeout}s:\n{worker.tail()}"
            await asyncio.sleep(0.2)
        return worker

    async def _polling(self, pid: int) -> bool:
        client = await self.client()
        seen = set()
        for kind in (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY):
            answer = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
                namespace="default", task_queue=TaskQueue(name=self.task_queue), task_queue_type=kind))
            if any(p.identity.startswith(f"{pid}@") for p in answer.pollers):
                seen.add(kind)
        return len(seen) == 2

    def kill(self, process: Process) -> None:
        process.kill()

    def stop(self, process: Process, sig: int = signal.SIGTERM) -> None:
        process.stop(sig)

    async def close(self) -> None:
        """Stops every process this drill started (SIGTERM, SIGKILL after 10 s) and reaps it."""
        alive = [p for p in self._started if p.running]
        for process in alive:
            if process is not self.temporal:
                process.popen.send_signal(signal.SIGTERM)
        for process in alive:
            if process is not self.temporal:
                await asyncio.to_thread(process.stop, signal.SIGTERM, 10.0)
        if self.temporal is not None:
            await asyncio.to_thread(self.temporal.stop, signal.SIGTERM, 10.0)
        for process in self._started:
            process.popen.wait()

    def leftovers(self) -> list[int]:
        """Pids of started processes that still exist (none after close())."""
        return [p.pid for p in self._started if Path(f"/proc/{p.pid}").exists()]

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} (pid {p.pid}) ---\n{p.tail(15)}" for p in self._started)

    # ------------------------------------------------------------------ clients

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def http(self, timeout: float = 30) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers={"Authorization": f"Bearer {self.key}"}, timeout=timeout)

    async def client(self) -> Client:
        """A Temporal client with the pydantic data converter, like the API's and the worker's."""
        if self._client is None:
            deadline = time.monotonic() + 30
            while True:
                try:
                    self._client = await Client.connect(f"127.0.0.1:{self.temporal_port}",
                                                        data_converter=pydantic_data_converter)
                    break
                except RuntimeError:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.2)
        return self._client

    async def count_runs(self, workflow_id: str, status: str | None = None) -> int:
        """Runs of a Relay workflow counted by Temporal visibility (`Running`, `Completed`, …)."""
        query = f"RelayWorkflowId = '{workflow_id}' AND RelayTenant = '{self.tenant_id}'"
        if status:
            query += f" AND ExecutionStatus = '{status}'"
        return (await (await self.client()).count_workflows(query)).count

    async def wait_for_count(self, workflow_id: str, status: str | None, expected: int,
                             timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while True:
            count = await self.count_runs(workflow_id, status)
            if count >= expected or time.monotonic() > deadline:
                return count
            await asyncio.sleep(0.25)

    # ------------------------------------------------------------------ API helpers

    async def create_workflow(self, blocks: list[dict[str, Any]], **settings: Any) -> str:
        async with self.http() as http:
            created = await http.post("/v1/workflows", json={
                "name": f"drill {uuid.uuid4().hex[:8]}", "workflow_blocks": blocks, **settings})
        assert created.status_code == 201, created.text
        return created.json()["data"]["id"]

    async def trigger(self, workflow_id: str, data: dict[str, Any] | None = None,
                      idempotency_key: str | None = None) -> dict[str, Any]:
        """POST …/trigger; the body is `trigger_body(data)`, byte for byte, so a retry matches the first try."""
        headers = {"Content-Type": "application/json"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        async with self.http() as http:
            started = await http.post(f"/v1/workflows/{workflow_id}/trigger", content=trigger_body(data),
                                      headers=headers)
        assert started.status_code == 201, started.text
        return started.json()["data"]

    async def wait_for_status(self, instance_id: str, statuses: set[str] = frozenset({"completed", "failed"}),
                              timeout: float = 60) -> dict[str, Any]:
        """Polls GET /v1/instances/{id}; rides out an API or Temporal that is briefly away."""
        deadline = time.monotonic() + timeout
        data: dict[str, Any] = {}
        async with self.http(timeout=10) as http:
            while time.monotonic() < deadline:
                try:
                    response = await http.get(f"/v1/instances/{instance_id}")
                    if response.status_code == 200:
                        data = response.json()["data"]
                        if data["status"] in statuses:
                            return data
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        raise AssertionError(f"instance {instance_id} did not reach {statuses} in {timeout}s: {data}\n{self.logs()}")

