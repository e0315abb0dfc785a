"""Shared fixtures: the real Temporal dev server, databases, the API on a loopback port, a worker."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from app.config import Settings
from app.db.session import make_engine, make_sessionmaker
from app.devserver import free_port
from app.main import create_app
from app.services.connections import DatabaseConnectionStore
from app.temporal import SEARCH_ATTRIBUTES
from worker import build_worker

BIN = Path(sys.executable).parent


def _binary(name: str) -> str:
    found = BIN / name
    path = str(found) if found.exists() else shutil.which(name)
    assert path, f"{name} is not installed (pip install -e '.[dev]')"
    return path


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    args: list[str] = []
    for name, kind in SEARCH_ATTRIBUTES.items():
        args += ["--search-attribute", f"{name}={kind}"]
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=_binary("temporal"), data_converter=pydantic_data_converter,
        dev_server_extra_args=args, dev_server_log_level="error",
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=_binary("temporal-test-server"), data_converter=pydantic_data_converter)
    yield env
    await env.shutdown()


def sqlite_url(tmp: Path) -> str:
    return f"sqlite:///{tmp / 'relay.db'}"


@pytest.fixture(scope="session")
def postgres_url() -> Any:
    """A fresh PostgreSQL database for this session (RELAY_TEST_DATABASE_URL), dropped at the end."""
    base = os.environ.get("RELAY_TEST_DATABASE_URL")
    if not base:
        yield None
        return
    import psycopg

    name = f"relay_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    yield base.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def redis_url() -> Any:
    """RELAY_TEST_REDIS_URL, else a redis-server of this session on a free loopback port; without
    either the test is skipped on a laptop and fails in CI (CI=true), which must run it."""
    given = os.environ.get("RELAY_TEST_REDIS_URL")
    if given:
        yield given
        return
    binary = shutil.which("redis-server")
    if binary is None:
        reason = "no redis-server on PATH (Debian: apt-get install redis-server) and no RELAY_TEST_REDIS_URL"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    import socket
    import subprocess
    import time

    port = free_port()
    server = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"redis-server did not start on port {port}")
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    server.terminate()
    server.wait(10)


def database_params() -> list[Any]:
    params = [pytest.param("sqlite", id="sqlite")]
    if os.environ.get("RELAY_TEST_DATABASE_URL"):
        params.append(pytest.param("postgresql", id="postgresql"))
    return params


@pytest.fixture(params=database_params())
def database_url(request, tmp_path, postgres_url) -> str:
    """Parametrises a test over SQLite and (when configured) PostgreSQL."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    return postgres_url


@dataclass
class Relay:
    """A running Relay: the API on a loopback port and a worker, on the session's dev server."""

    url: str
    client: Client
    settings: Settings
    store: DatabaseConnectionStore  # what the worker reads connections from (the API writes them)
    sessions: async_sessionmaker[AsyncSession]  # the worker's one sessionmaker
    keys: dict[str, str] = field(default_factory=dict)

    def http(self, key: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=30)

    async def key(self, tenant: str, *scopes: str) -> str:
        return (await self.tenant(tenant, *scopes))[1]

    async def platform_key(self, name: str = "host") -> str:
        """A platform key (SPEC §3.3), as `relay keys create --platform` makes one."""
        from app.services.keys import PLATFORM, create_key

        engine = make_engine(self.settings.database_url)
        async with make_sessionmaker(engine)() as session:
            _, key = await create_key(session, tenant_id=None, scopes=[PLATFORM], name=name)
        await engine.dispose()
        return key

    async def tenant(self, name: str | None = None, *scopes: str) -> tuple[str, str]:
        """(tenant id, a key with `scopes`, admin by default); a fresh tenant when no name is given."""
        from app.db.session import make_engine, make_sessionmaker
        from app.services.keys import create_key, ensure_tenant

        engine = make_engine(self.settings.database_url)
        async with make_sessionmaker(engine)() as session:
            row = await ensure_tenant(session, name=name or f"t-{uuid.uuid4().hex[:10]}")
            _, key = await create_key(session, tenant_id=row.id, scopes=list(scopes or ("admin",)))
        await engine.dispose()
        return row.id, key


def relay_settings(database_url: str, temporal_env: WorkflowEnvironment, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        env="test", database_url=database_url,
        temporal_address=temporal_env.client.service_client.config.target_host,
        task_queue=f"relay-test-{uuid.uuid4().hex[:8]}",
        outbound_allow="127.0.0.1/32,localhost", public_url="http://127.0.0.1:9",
        temporal_ui_url="http://127.0.0.1:8233", smtp_host=None,
    )
    values.update(overrides)
    return Settings(**values)


async def start_relay(settings: Settings, client: Client, *, with_worker: bool = True) -> AsyncIterator[Relay]:
    """The API on a free loopback port (and a worker unless another replica already runs one)."""
    port = free_port()
    settings = settings.model_copy(update={"public_url": f"http://127.0.0.1:{port}"})
    engine = make_engine(settings.database_url)  # the worker's one engine, as in worker.run_worker
    sessions = make_sessionmaker(engine)
    store = DatabaseConnectionStore(sessions, settings)
    server = uvicorn.Server(uvicorn.Config(create_app(settings, temporal=client), host="127.0.0.1",
                                           port=port, log_level="warning", lifespan="on"))
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    worker = build_worker(client, settings, sessions, store=store) if with_worker else contextlib.nullcontext()
    async with worker:
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        yield Relay(url=f"http://127.0.0.1:{port}", client=client, settings=settings, store=store,
                    sessions=sessions)
        server.should_exit = True
        await task
    await engine.dispose()


@pytest.fixture(scope="session")
async def relay(temporal_env, tmp_path_factory) -> AsyncIterator[Relay]:
    """One Relay for the API tests of this session (SQLite)."""
    settings = relay_settings(sqlite_url(tmp_path_factory.mktemp("relay")), temporal_env)
    async for running in start_relay(settings, temporal_env.client):
        yield running


@pytest.fixture(scope="session")
async def admin_key(relay) -> str:
    return await relay.key("acme", "admin")


async def wait_for_status(http: httpx.AsyncClient, instance_id: str, statuses: set[str],
                          timeout: float = 30) -> dict[str, Any]:
    """Poll GET /v1/instances/{id} until the run reaches one of `statuses`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        response = await http.get(f"/v1/instances/{instance_id}")
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        if data["status"] in statuses:
            return data
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"instance stayed {data['status']}: {data}")
        await asyncio.sleep(0.1)
