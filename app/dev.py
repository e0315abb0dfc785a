"""`relay dev`: the Temporal dev server, migrations, the dev key, the worker and the API in one tree."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import structlog
import uvicorn
from google.protobuf.duration_pb2 import Duration
from temporalio.api.namespace.v1 import NamespaceConfig
from temporalio.api.workflowservice.v1 import UpdateNamespaceRequest
from temporalio.client import Client

from app import tracing
from app.config import Settings
from app.crypto import load_or_create_dev_key
from app.db.migrate import migrate
from app.db.session import make_engine, make_sessionmaker
from app.devserver import connect_when_ready, dev_environment, start_temporal, stop_process, wait_for_port
from app.logging import configure_logging
from app.services.keys import SCOPES, create_key, ensure_tenant

log = structlog.get_logger("relay.dev")
DEV_RETENTION = timedelta(days=3)  # closed runs in the dev server (docs/operations.md, "Retention")


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: `relay dev` owns SIGINT/SIGTERM."""

    def install_signal_handlers(self) -> None:  # uvicorn < 0.29
        pass

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # uvicorn >= 0.29
        yield


async def run_dev(*, port: int, temporal_port: int, ui_port: int, data_dir: Path) -> int:
    data_dir = data_dir.resolve()  # noqa: ASYNC240 - at start-up, before anything else runs on the loop
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ.update(dev_environment(data_dir=data_dir, port=port, temporal_port=temporal_port, ui_port=ui_port))
    if not os.environ.get("RELAY_SECRET_KEY"):  # encrypts connection secrets; kept in <data-dir>/secret-key
        os.environ["RELAY_SECRET_KEY"] = load_or_create_dev_key(data_dir)
    settings = Settings()
    configure_logging(settings)
    tracing.configure(settings, "relay-dev")

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    temporal = start_temporal(data_dir=data_dir, port=temporal_port, ui_port=ui_port,
                              log_file=data_dir / "temporal.log")
    try:
        await wait_for_port(temporal_port, process=temporal)
        await asyncio.to_thread(migrate, settings.database_url)
        await _dev_key(settings, data_dir)

        from app.db.session import make_engine, make_sessionmaker
        from app.main import KEEP_ALIVE_SECONDS, create_app
        from app.temporal import connect
        from worker import build_worker

        client = await connect_when_ready(lambda: connect(settings))
        engine = make_engine(settings.database_url)  # the worker's one engine
        worker = build_worker(client, settings, make_sessionmaker(engine))
        await _retention_and_maintenance(client, settings)
        app = create_app(settings, temporal=client)
        server = _Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           timeout_keep_alive=KEEP_ALIVE_SECONDS))
        async with worker:
            api = asyncio.create_task(server.serve())
            print(f"Relay is up: API http://127.0.0.1:{port}  console http://127.0.0.1:{port}/console  "
                  f"Temporal UI http://127.0.0.1:{ui_port}  (Ctrl-C stops)", flush=True)
            waiter = asyncio.create_task(stop.wait())
            await asyncio.wait({api, waiter}, return_when=asyncio.FIRST_COMPLETED)
            server.should_exit = True
            await api
            waiter.cancel()
        await engine.dispose()
        log.info("dev.stopping")
        return 0
    finally:
        await asyncio.to_thread(stop_process, temporal)
        print("Relay stopped", flush=True)


async def _retention_and_maintenance(client: Client, settings: Settings) -> None:
    """Closed runs kept DEV_RETENTION in the dev server's namespace, and the maintenance schedule."""
    from app.services import maintenance

    await client.workflow_service.update_namespace(UpdateNamespaceRequest(
        namespace=settings.temporal_namespace,
        config=NamespaceConfig(workflow_execution_retention_ttl=Duration(seconds=int(DEV_RETENTION.total_seconds())))))
    await maintenance.ensure_schedule(client, settings)


async def _dev_key(settings: Settings, data_dir: Path) -> None:
    """The dev tenant and its admin key: printed once, kept in <data-dir>/dev-key."""
    key_file = data_dir / "dev-key"
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            tenant = await ensure_tenant(session, name="dev")
            if key_file.exists():
                print(f"dev tenant admin key: in {key_file}", flush=True)
                return
            _, key = await create_key(session, tenant_id=tenant.id, scopes=list(SCOPES), name="dev admin")
    finally:
        await engine.dispose()
    key_file.write_text(key + "\n")
    key_file.chmod(0o600)
    print(f"dev tenant admin key (shown once, kept in {key_file}):\n{key}", flush=True)
