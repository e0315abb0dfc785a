"""A running Relay for tests: settings for one, and the API plus a worker started on a loopback port."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from app.config import Settings
from app.db.session import make_engine, make_sessionmaker
from app.devserver import free_port
from app.main import KEEP_ALIVE_SECONDS, create_app
from app.services.connections import DatabaseConnectionStore
from worker import build_worker


def sqlite_url(tmp: Path) -> str:
    return f"sqlite:///{tmp / 'relay.db'}"


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
        from app.services.keys import create_key, ensure_tenant

        engine = make_engine(self.settings.database_url)
        async with make_sessionmaker(engine)() as session:
            row = await ensure_tenant(session, name=name or f"t-{uuid.uuid4().hex[:10]}")
            _, key = await create_key(session, tenant_id=row.id, scopes=list(scopes or ("admin",)))
        await engine.dispose()
        return row.id, key


def relay_settings(database_url: str, temporal_env: WorkflowEnvironment, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "test", "database_url": database_url,
        "temporal_address": temporal_env.client.service_client.config.target_host,
        "task_queue": f"relay-test-{uuid.uuid4().hex[:8]}",
        "outbound_allow": "127.0.0.1/32,localhost", "public_url": "http://127.0.0.1:9",
        "temporal_ui_url": "http://127.0.0.1:8233", "smtp_host": None,
    }
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
                                           port=port, log_level="warning", lifespan="on",
                                           timeout_keep_alive=KEEP_ALIVE_SECONDS))
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    worker = build_worker(client, settings, sessions, store=store) if with_worker else contextlib.nullcontext()
    async with worker:
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        try:  # also when the caller closes the generator early (aclose): the server and its lifespan stop here
            yield Relay(url=f"http://127.0.0.1:{port}", client=client, settings=settings, store=store,
                        sessions=sessions)
        finally:
            server.should_exit = True
            await task
    await engine.dispose()


async def wait_healthy(http: httpx.AsyncClient, process: asyncio.subprocess.Process, tries: int = 300) -> None:
    """Polls `/healthz` of a `relay dev` child process until it answers 200 (about a minute at most)."""
    for _ in range(tries):
        try:
            if (await http.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.returncode is None, "relay dev exited early"
        await asyncio.sleep(0.2)
    raise AssertionError("relay dev did not answer /healthz")
