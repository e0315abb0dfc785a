"""Metric points (SPEC §2.2, §3 POST /v1/metrics): validated here, then signalled to the
ThresholdWatcher of every enabled threshold workflow of the tenant that watches their metric."""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client
from temporalio.service import RPCError

from app.config import Settings
from app.db.repo import workflows as workflow_rows
from app.db.tables import Workflow, WorkflowVersion
from app.services.errors import InvalidInput, temporal_error
from app.temporal import POINTS_SIGNAL, WATCHER_WORKFLOW
from workflows.definition import ThresholdConfig
from workflows.problems import shorten
from workflows.threshold import (
    MetricPoint,
    PointsSignal,
    WatchedConfig,
    WatcherInput,
    watcher_id,
)

MAX_POINTS_PER_REQUEST = 1000
MAX_FUTURE = timedelta(minutes=5)  # a point far in the future would push the whole window out
CONCURRENT_SIGNALS = 16


def parse_points(body: Any, *, now: datetime) -> list[tuple[str, MetricPoint]]:
    """`{"metric", "value", "at"?}` or a list of them → (metric, point) pairs; 400 naming each bad path."""
    items, prefix = (body, True) if isinstance(body, list) else ([body], False)
    if len(items) > MAX_POINTS_PER_REQUEST:
        raise InvalidInput("too many points", details=[
            {"path": "", "message": f"at most {MAX_POINTS_PER_REQUEST} points per request"}])
    problems: list[dict[str, str]] = []
    points: list[tuple[str, MetricPoint]] = []
    for index, item in enumerate(items):
        path = f"{index}." if prefix else ""

        def problem(field: str, message: str, item: Any = item, path: str = path) -> None:  # bound to this item
            given = item.get(field) if isinstance(item, dict) and field else item
            named = f"; got {shorten(given)}" if (not field or field in item) else ""
            problems.append({"path": f"{path}{field}".rstrip("."), "message": message + named})

        if not isinstance(item, dict):
            problem("", "must be an object with metric, value and optionally at")
            continue
        for unknown in sorted(set(item) - {"metric", "value", "at"}):
            problems.append({"path": f"{path}{unknown}", "message": f"unknown field {unknown!r}"})
        metric, value, at = item.get("metric"), item.get("value"), item.get("at")
        if not isinstance(metric, str) or not 1 <= len(metric) <= 200:
            problem("metric", "must be a string of 1 to 200 characters")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not _finite(value):
            problem("value", "must be a finite number")
        when = now
        if at is not None:
            parsed = _parse_at(at)
            if parsed is None:
                problem("at", "must be an ISO 8601 date-time")
            elif parsed - now > MAX_FUTURE:
                problem("at", "is more than 5 minutes in the future")
            else:
                when = parsed
        if not problems and isinstance(metric, str) and isinstance(value, (int, float)):  # (checked above)
            points.append((metric, MetricPoint(at=when, value=float(value))))
    if problems:
        raise InvalidInput("the metric points are not valid", details=problems)
    return points


def _parse_at(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


async def record_points(session: AsyncSession, client: Client, settings: Settings, *, tenant_id: str,
                        points: list[tuple[str, MetricPoint]],
                        idempotency_key: str | None = None) -> dict[str, Any]:
    """Signal each watching workflow's watcher; with an Idempotency-Key, a retry after a partial
    failure (503) does not give a watcher the same points twice."""
    batch = hashlib.sha256(idempotency_key.encode()).hexdigest()[:24] if idempotency_key else None
    by_metric: dict[str, list[MetricPoint]] = defaultdict(list)
    for metric, point in points:
        by_metric[metric].append(point)
    rows = (await workflow_rows.watching_metrics(session, tenant_id=tenant_id, metrics=set(by_metric))
            if by_metric else [])
    gate = asyncio.Semaphore(CONCURRENT_SIGNALS)

    async def deliver(row: Workflow, version: WorkflowVersion) -> None:
        config = ThresholdConfig.model_validate(version.definition.get("trigger_configuration") or {})
        watched = WatchedConfig(version=version.version_number, stamp=row.updated_at, config=config)
        async with gate:
            await client.start_workflow(
                WATCHER_WORKFLOW, WatcherInput(tenant_id=tenant_id, workflow_id=row.id, watched=watched),
                id=watcher_id(tenant_id, row.id), task_queue=settings.task_queue,
                start_signal=POINTS_SIGNAL,
                start_signal_args=[PointsSignal(watched=watched, batch=batch,
                                                points=by_metric[row.trigger_key or config.metric])])

    try:
        await asyncio.gather(*(deliver(row, version) for row, version in rows))
    except RPCError as error:
        raise temporal_error(error) from None
    return {"accepted": len(points), "matched": [row.id for row, _ in rows]}


def _finite(value: float) -> bool:
    """False for NaN, infinity and an integer too large for a float (10**400: math.isfinite raises)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False
