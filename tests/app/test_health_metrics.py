"""Health, readiness and Prometheus metrics of the API; the worker's SDK metrics port."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import httpx

from app.devserver import free_port
from tests.helpers.runs import wait_for_status


async def test_health_readiness_and_metrics(relay, admin_key):
    async with relay.http(admin_key) as http:
        health = await http.get("/healthz")
        ready = await http.get("/readyz")
        workflow = (await http.post("/v1/workflows", json={"name": "metered", "workflow_blocks": [
            {"$kind": "Block", "type": "delay", "id": "d", "inputs": {"duration": "0s"}}]})).json()["data"]
        instance = (await http.post(f"/v1/workflows/{workflow['id']}/trigger", json={})).json()["data"]
        await wait_for_status(http, instance["id"], {"completed"})
        await http.get("/v1/workflows/wf_missing")
        metrics = await http.get("/metrics")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "temporal": "ok"}
    text = metrics.text
    assert metrics.headers["content-type"].startswith("text/plain")
    assert 'relay_http_requests_total{method="POST",route="/v1/workflows/{workflow_id}/trigger",status="201"}' in text
    assert 'relay_http_requests_total{method="GET",route="/v1/workflows/{workflow_id}",status="404"}' in text
    assert "relay_http_request_duration_seconds_bucket" in text
    assert 'relay_runs_started_total{trigger_type="manual"}' in text
    assert "relay_circuit_breaker_trips_total" in text and "relay_event_matches_total" in text


async def test_readiness_fails_when_temporal_is_unreachable(tmp_path):
    from temporalio.client import Client

    from app.config import Settings
    from app.main import create_app

    settings = Settings(env="test", database_url=f"sqlite:///{tmp_path / 'r.db'}",
                        temporal_address=f"127.0.0.1:{free_port()}")
    dead = await Client.connect(settings.temporal_address, lazy=True)
    app = create_app(settings, temporal=dead)
    async with (app.router.lifespan_context(app),
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://relay") as http):
        ready = await http.get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["temporal"] == "unreachable"


async def test_worker_serves_the_sdk_prometheus_metrics(temporal_env, tmp_path):
    port = free_port()
    env = {**os.environ, "RELAY_ENV": "test", "RELAY_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}",
           "RELAY_TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
           "RELAY_TASK_QUEUE": "metrics-probe", "RELAY_WORKER_METRICS_PORT": str(port)}
    migrate = await asyncio.create_subprocess_exec(str(Path(sys.executable).parent / "relay"), "migrate", env=env)
    await migrate.wait()
    worker = await asyncio.create_subprocess_exec(str(Path(sys.executable).parent / "relay"), "worker", env=env,
                                                  stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        text = ""
        async with httpx.AsyncClient() as http:
            for _ in range(100):
                try:
                    text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
                    if "temporal_" in text:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
    finally:
        worker.send_signal(signal.SIGTERM)
        await asyncio.wait_for(worker.wait(), 30)
    assert "temporal_" in text and worker.returncode == 0


async def test_calls_that_need_temporal_answer_503_once_it_goes_away(tmp_path):
    """Temporal stops after the API connected: a trigger, a dry run and an instance list answer
    SPEC's 503 temporal_unavailable (a dry run used to be a bare 500)."""
    from temporalio.client import Client
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.service import RetryConfig

    from app.config import Settings
    from app.devserver import connect_when_ready, start_temporal, stop_process, wait_for_port
    from app.main import create_app
    from app.services.keys import create_key, ensure_tenant

    port = free_port()
    server = start_temporal(data_dir=tmp_path, port=port, ui_port=free_port(), log_file=tmp_path / "temporal.log")
    try:
        await wait_for_port(port, process=server)
        # few retries per attempt: the answer is the same as after the SDK's default back-off, only sooner
        client = await connect_when_ready(lambda: Client.connect(
            f"127.0.0.1:{port}", data_converter=pydantic_data_converter,
            retry_config=RetryConfig(max_retries=1, max_elapsed_time_millis=2000)))
    finally:
        stop_process(server)
    settings = Settings(env="test", database_url=f"sqlite:///{tmp_path / 'r.db'}", temporal_address=f"127.0.0.1:{port}")
    app = create_app(settings, temporal=client)
    async with app.router.lifespan_context(app):
        async with app.state.sessionmaker() as session:
            tenant = await ensure_tenant(session, name="down")
            _, key = await create_key(session, tenant_id=tenant.id, scopes=["admin"])
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://relay",
                                     headers={"Authorization": f"Bearer {key}"}, timeout=60) as http:
            workflow = (await http.post("/v1/workflows", json={"name": "w", "workflow_blocks": [
                {"$kind": "Block", "type": "delay", "id": "d", "inputs": {"duration": "0s"}}]})).json()["data"]
            answers = [await http.post(f"/v1/workflows/{workflow['id']}/trigger", json={}),
                       await http.post(f"/v1/workflows/{workflow['id']}/test", json={}),
                       await http.get("/v1/instances")]
    for answer in answers:
        assert answer.status_code == 503 and answer.json()["error"]["code"] == "temporal_unavailable", answer.text
