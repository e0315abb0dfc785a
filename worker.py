"""The Relay worker: settings → logging → client → Worker(...).run()."""

from __future__ import annotations

import asyncio
import builtins
import compileall
import contextlib
import functools
import os
import pkgutil
import signal
import sys
from datetime import timedelta

import structlog
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client
from temporalio.worker import PollerBehaviorSimpleMaximum, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions
from temporalio.worker.workflow_sandbox import _runner as sandbox_runner

from activities import ConnectionStore, RelayActivities
from activities.outbound import aclose_client
from activities.settings import ActivitySettings
from app import tracing
from app.config import Settings, get_settings
from app.crypto import approval_key
from app.db.session import make_engine, make_sessionmaker
from app.logging import configure_logging
from app.services import maintenance
from app.services.connections import DatabaseConnectionStore
from app.services.tenants import use_default_quotas
from app.services.worker_activities import ServiceActivities
from app.temporal import connect
from workflows.collector import FlowCollector
from workflows.flowgate import FlowGate
from workflows.interpreter import RelayWorkflow
from workflows.maintenance import RelayMaintenance
from workflows.threshold import ThresholdWatcher

log = structlog.get_logger("relay.worker")


def activity_settings(settings: Settings) -> ActivitySettings:
    """The part of the settings the side effects read."""
    return ActivitySettings(
        outbound_allow_list=tuple(settings.outbound_allow_list),
        public_url=settings.public_url,
        outbound_timeout_seconds=settings.outbound_timeout_seconds,
        outbound_max_response_bytes=settings.outbound_max_response_bytes,
        smtp_host=settings.smtp_host,
        smtp_port=settings.smtp_port,
        smtp_username=settings.smtp_username,
        smtp_password=settings.smtp_password,
        smtp_starttls=settings.smtp_starttls,
        smtp_from=settings.smtp_from,
        approval_key=approval_key(settings),
    )


def precompile_workflows() -> None:
    """Bytecode for the workflow modules. Temporal's sandbox imports a workflow's module afresh
    for every run it starts or replays; with PYTHONDONTWRITEBYTECODE (the Docker image, many CI
    machines) and no .pyc, each of those imports compiled workflows/interpreter.py from source
    (a third of the worker's CPU for a one-step run, docs/performance.md section 8). Writes
    __pycache__ beside the sources when it may; a read-only install keeps what it was built with."""
    import workflows

    with contextlib.suppress(OSError):
        for directory in workflows.__path__:
            compileall.compile_dir(directory, quiet=2, maxlevels=0)


# The modules of the long-lived workflow types (a watcher, a gate, a collector per key, the daily
# maintenance): the sandbox still imports them afresh for each of their (few) runs, as the SDK does.
REIMPORTED = ("workflows.threshold", "workflows.maintenance", "workflows.flowgate", "workflows.collector")


def shared_workflow_modules() -> tuple[str, ...]:
    """Every module of `workflows/` but REIMPORTED: `RelayWorkflow`'s module and the pure helpers."""
    import workflows

    names = (f"workflows.{module.name}" for module in pkgutil.iter_modules(workflows.__path__))
    return tuple(sorted(name for name in names if name not in REIMPORTED))


@functools.lru_cache(maxsize=64)
def _compiled(source: str) -> object:
    return compile(source, "<string>", "exec")


def _exec_compiled_once(source: object, globals_: dict[str, object], locals_: dict[str, object]) -> None:
    """`exec` as the sandbox calls it, with each of its few code strings compiled once per process."""
    builtins.exec(_compiled(source) if isinstance(source, str) else source, globals_, locals_)  # type: ignore[arg-type]


def compile_sandbox_calls_once() -> None:
    """The SDK's sandbox enters a run with `exec` of a code string: for each activation, and again
    for each payload of it (its serialization and external-store contexts), and `exec` compiles
    the string every time: compiling was 13 % of a busy worker's CPU (docs/performance.md section 8,
    fourth pass). The sandbox module's `exec` becomes one that compiles each of its strings once:
    the same code run in the same namespaces. tests/workflows/test_purity.py checks that the SDK
    still calls it so."""
    sandbox_runner.exec = _exec_compiled_once  # type: ignore[attr-defined]


def workflow_runner(*passthrough: str, reimport: bool = False) -> SandboxedWorkflowRunner:
    """The sandbox (on), with RelayWorkflow's module passed through: imported once per worker process
    and shared by the runs, where the SDK imports a workflow's module afresh for every run. That
    import, with `@workflow.defn` inspecting the class again, was 43 % of a busy worker's CPU, on
    its event-loop thread (docs/performance.md section 8, third pass). What the sharing gives up
    is the sandbox's checks on those modules' own lines and a fresh module state per run; what
    holds instead: `workflows/` does no I/O (tests/test_boundaries.py), reads no clock, randomness
    or environment, and no run changes its modules' state (tests/workflows/test_purity.py)."""
    compile_sandbox_calls_once()
    own = () if reimport else shared_workflow_modules()  # RELAY_WORKER_REIMPORT_WORKFLOWS=true: the SDK's default
    restrictions = SandboxRestrictions.default.with_passthrough_modules(*own, *passthrough)
    return SandboxedWorkflowRunner(restrictions=restrictions)


def build_worker(client: Client, settings: Settings, sessions: async_sessionmaker[AsyncSession], *,
                 store: ConnectionStore | None = None, task_queue: str | None = None) -> Worker:
    """The worker; `sessions` is the process's one sessionmaker (app/db/session.py's engine), and
    connections come from it unless a `store` is given."""
    if store is None:
        store = DatabaseConnectionStore(sessions, settings)
    precompile_workflows()
    use_default_quotas(settings)  # RELAY_TENANT_QUOTAS for the service activities (tenant_quotas)
    actions = RelayActivities(activity_settings(settings), store)
    services = ServiceActivities(settings, sessions)
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=[RelayWorkflow, ThresholdWatcher, RelayMaintenance, FlowGate, FlowCollector],
        activities=[*actions.list(), *services.list()],
        max_concurrent_activities=settings.worker_max_concurrent_activities,
        max_concurrent_workflow_tasks=settings.worker_max_concurrent_workflow_tasks,
        max_cached_workflows=settings.worker_max_cached_workflows,
        workflow_task_poller_behavior=PollerBehaviorSimpleMaximum(settings.worker_workflow_task_pollers),
        nonsticky_to_sticky_poll_ratio=settings.worker_nonsticky_poll_ratio,
        activity_task_poller_behavior=PollerBehaviorSimpleMaximum(settings.worker_activity_task_pollers),
        graceful_shutdown_timeout=timedelta(seconds=10),
        workflow_runner=workflow_runner(*tracing.sandbox_passthrough(), reimport=settings.worker_reimport_workflows),
    )


async def run_worker(settings: Settings, stop: asyncio.Event | None = None) -> None:
    tracing.configure(settings, "relay-worker")
    client = await connect(settings, metrics_port=settings.worker_metrics_port or None)
    engine = make_engine(settings.database_url)  # one engine for the process
    try:
        worker = build_worker(client, settings, make_sessionmaker(engine))
        await maintenance.ensure_schedule(client, settings)  # idempotent: every worker asks
        log.info("worker.started", task_queue=settings.task_queue, temporal=settings.temporal_address,
                 metrics_port=settings.worker_metrics_port or None)
        if stop is None:
            await worker.run()
            return
        async with worker:
            await stop.wait()
        log.info("worker.stopped")
    finally:
        await engine.dispose()
        await aclose_client()  # the shared outbound HTTP client of the activities


def main() -> None:
    settings = get_settings()
    configure_logging(settings)

    async def _main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_worker(settings, stop)

    asyncio.run(_main())
    tracing.shutdown()  # the last spans, before os._exit below
    # The worker has drained and closed everything it opened. Leave without interpreter
    # finalisation: a thread of Temporal's core runtime that is still winding down can otherwise
    # touch the GIL while Python finalises ("PyGILState_Release … must be current", SIGABRT; seen
    # about one stop in six when SIGTERM came right after start).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
