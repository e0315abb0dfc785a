"""`relay dev` as a user runs it: a subprocess that comes up, runs a workflow, and stops cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import httpx
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

from app.dev import DEV_RETENTION
from app.devserver import free_port
from app.services.maintenance import EVERY
from tests.helpers.relay import wait_healthy
from tests.receivers import HttpReceiver

RELAY = str(Path(sys.executable).parent / "relay")


def processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


async def test_relay_dev_serves_runs_and_stops_cleanly(tmp_path):
    data_dir = tmp_path / "relay-data"
    port, temporal_port, ui_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
    process = await asyncio.create_subprocess_exec(
        RELAY, "dev", "--port", str(port), "--temporal-port", str(temporal_port), "--ui-port", str(ui_port),
        "--data-dir", str(data_dir), env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output = b""
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            await wait_healthy(http, process)
            key = (data_dir / "dev-key").read_text().strip()
            assert key.startswith("rly_")
            assert oct((data_dir / "dev-key").stat().st_mode & 0o777) == "0o600"
            assert (data_dir / "temporal.db").exists() and (data_dir / "relay.db").exists()
            http.headers["Authorization"] = f"Bearer {key}"
            async with HttpReceiver() as receiver:
                created = await http.post("/v1/workflows", json={"name": "hello", "workflow_blocks": [
                    {"$kind": "Action", "id": "ping", "type": "webhook",
                     "input": {"url": receiver.url, "body": {"hello": "{{trigger.data.name}}"}}}]})
                assert created.status_code == 201, created.text
                started = await http.post(f"/v1/workflows/{created.json()['data']['id']}/trigger",
                                          json={"data": {"name": "world"}})
                instance_id = started.json()["data"]["id"]
                for _ in range(200):
                    detail = (await http.get(f"/v1/instances/{instance_id}")).json()["data"]
                    if detail["status"] != "running":
                        break
                    await asyncio.sleep(0.1)
            assert detail["status"] == "completed", detail
            assert receiver.requests[0].json() == {"hello": "world"}
            assert detail["temporal"]["ui_url"].startswith(f"http://127.0.0.1:{ui_port}/namespaces/default/workflows/")
        assert processes_mentioning(str(data_dir)), "the Temporal dev server should run under relay dev"
        client = await Client.connect(f"127.0.0.1:{temporal_port}")
        namespace = await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace="default"))
        retention = namespace.config.workflow_execution_retention_ttl.ToTimedelta()
        maintenance = await client.get_schedule_handle("relay-maintenance-relay").describe()
        assert retention == DEV_RETENTION, retention  # relay dev sets the namespace's retention
        assert maintenance.schedule.spec.intervals[0].every == EVERY
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    text = output.decode(errors="replace")
    assert process.returncode == 0, text
    assert key in text  # printed once, on first start
    assert "Relay stopped" in text
    await asyncio.sleep(0.5)
    assert processes_mentioning(str(data_dir)) == [], "a process of relay dev outlived it"
