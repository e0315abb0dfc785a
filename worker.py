"""The Relay worker: settings → logging → client → Worker(...).run()."""

from __future__ import annotations

import asyncio
import signal
from datetime import timedelta

import structlog
from temporalio.client import Client
from temporalio.worker import Worker

from activities import ConnectionStore, RelayActivities
from activities.outbound import aclose_client
from activities.threshold import ThresholdActivities
from activities.admission import AdmissionActivities
from app.config import Settings, get_settings
from app.logging import configure_logging
from app.services.connections import DatabaseConnectionStore
from app.temporal import connect
from workflows.interpreter import RelayWorkflow
from workflows.threshold import ThresholdWatcher

log = structlog.get_logger("relay.worker")


def build_worker(client: Client, settings: Settings, store: ConnectionStore | None = None,
                 task_queue: str | None = None) -> Worker:
    """The worker; without a `store`, connections come from the database (`settings.database_url`)."""
    if store is None:
        store = DatabaseConnectionStore.from_settings(settings)
    activities = RelayActivities(settings, store)
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=[RelayWorkflow, ThresholdWatcher],
        activities=activities.list() + AdmissionActivities(settings).list()
                   + ThresholdActivities(settings).list(),
        max_concurrent_activities=settings.worker_max_concurrent_activities,
        max_concurrent_workflow_tasks=settings.worker_max_concurrent_workflow_tasks,
        max_cached_workflows=settings.worker_max_cached_workflows,
        graceful_shutdown_timeout=timedelta(seconds=10),
    )


async def run_worker(settings: Settings, stop: asyncio.Event | None = None) -> None:
    client = await connect(settings, metrics_port=settings.worker_metrics_port or None)
    store = DatabaseConnectionStore.from_settings(settings)  # one engine for the process
    try:
        worker = build_worker(client, settings, store)
        log.info("worker.started", task_queue=settings.task_queue, temporal=settings.temporal_address,
                 metrics_port=settings.worker_metrics_port or None)
        if stop is None:
            await worker.run()
            return
        async with worker:
            await stop.wait()
        log.info("worker.stopped")
    finally:
        await store.aclose()
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


if __name__ == "__main__":
    main()
