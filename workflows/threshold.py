"""ThresholdWatcher: one long-lived workflow per threshold-triggered workflow (SPEC §2.2).

`POST /v1/metrics` signals points to the watcher of every matching workflow (signal-with-start);
the watcher keeps the points inside the sliding `time_window`, aggregates them and compares the
aggregate with the threshold. It fires once when the condition becomes true (armed → fired) and
re-arms when it becomes false. Firing is the activity `fire_threshold`, which starts a run through
the circuit breaker. The window is anchored at the newest point's `at`, never at the clock, so
the watcher is deterministic; `workflow.now()` only times idleness. See docs/thresholds.md.
"""

from __future__ import annotations

import asyncio
import bisect
from datetime import datetime, timedelta, timezone
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.models import FIRE_ACTIVITY, FireInput, FireResult
    from workflows.definition import ThresholdConfig
    from workflows.durations import DurationError, parse_duration
    from workflows.models import STATE_QUERY, TriggerInfo
    from relay_common.failures import Failure

WATCHER_WORKFLOW = "ThresholdWatcher"
POINTS_SIGNAL = "points"
MAX_POINTS = 10_000  # points kept in the window; the oldest go first
SIGNALS_PER_RUN = 500  # continue-as-new after this many signals (or when Temporal suggests it)
IDLE_SECONDS = 24 * 3600.0  # a watcher without points for this long ends itself
RECENT_FIRES = 20
RECENT_BATCHES = 200


def watcher_id(tenant_id: str, workflow_id: str) -> str:
    return f"{tenant_id}:threshold:{workflow_id}"


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]


class MetricPoint(BaseModel):
    at: UtcDatetime
    value: float


class WatchedConfig(BaseModel):
    """The trigger configuration of the workflow's active version; the newest `stamp` wins."""

    version: int
    stamp: UtcDatetime  # when the workflow row last changed (a publish or rollback changes it)
    config: ThresholdConfig


class PointsSignal(BaseModel):
    watched: WatchedConfig
    points: list[MetricPoint]
    batch: str | None = None  # from the request's Idempotency-Key: a retried request is taken once


class FireRecord(BaseModel):
    seq: int
    at: datetime
    aggregate: float | None
    instance_id: str | None = None
    error: str | None = None  # e.g. "workflow_disabled: …" (refused, not retried)


class WatcherState(BaseModel):
    """Everything the watcher knows; carried whole through continue-as-new, and its query answer."""

    watched: WatchedConfig
    generation: str = ""
    points: list[MetricPoint] = Field(default_factory=list)
    aggregate: float | None = None
    fired: bool = False
    fire_seq: int = 0
    pending: list[FireRecord] = Field(default_factory=list)  # crossings not yet handed to the activity
    recent_fires: list[FireRecord] = Field(default_factory=list)
    last_signal_at: datetime | None = None
    points_received: int = 0
    recent_batches: list[str] = Field(default_factory=list)
    continued: int = 0  # how many times this watcher continued as new
    ended: str | None = None


class WatcherInput(BaseModel):
    tenant_id: str
    workflow_id: str
    watched: WatchedConfig
    state: WatcherState | None = None
    max_signals_per_run: int = SIGNALS_PER_RUN
    max_points: int = MAX_POINTS
    idle_seconds: float = IDLE_SECONDS


# ------------------------------------------------------------------ pure helpers


def aggregate(points: list[MetricPoint], how: str) -> float | None:
    """The window's aggregate; None for avg/min/max of an empty window."""
    if how == "count":
        return float(len(points))
    if how == "sum":
        return float(sum(p.value for p in points))
    if not points:
        return None
    values = [p.value for p in points]
    if how == "min":
        return min(values)
    if how == "max":
        return max(values)
    return sum(values) / len(values)


def holds(value: float | None, operator: str, threshold: float) -> bool:
    if value is None:
        return False
    return {
        "greater_than": value > threshold,
        "less_than": value < threshold,
        "greater_or_equal": value >= threshold,
        "less_or_equal": value <= threshold,
        "equals": value == threshold,
        "not_equals": value != threshold,
    }[operator]


def slide(points: list[MetricPoint], new: list[MetricPoint], window: timedelta, limit: int) -> list[MetricPoint]:
    """`points` (ordered by `at`) with `new` added, cut to (newest - window, newest] and `limit` points."""
    for point in new:
        bisect.insort_right(points, point, key=lambda p: p.at)
    if not points:
        return points
    cutoff = points[-1].at - window
    start = bisect.bisect_right(points, cutoff, key=lambda p: p.at)
    start = max(start, len(points) - limit)
    return points[start:] if start else points


# ------------------------------------------------------------------ the workflow


@workflow.defn(name=WATCHER_WORKFLOW)
class ThresholdWatcher:
    @workflow.init
    def __init__(self, input: WatcherInput) -> None:
        self.input = input
        self.state = input.state or WatcherState(watched=input.watched, last_signal_at=workflow.now())
        # Part of every idempotency key: a watcher that ended and started again never reuses a key.
        self.state.generation = self.state.generation or workflow.info().first_execution_run_id
        self.signals = 0
        self.gone = False

    @workflow.run
    async def run(self, input: WatcherInput) -> WatcherState:
        while True:
            idle_left = self._idle_left()
            if idle_left <= 0 and not self.state.pending:
                return await self._end("idle")
            try:
                await workflow.wait_condition(lambda: bool(self.state.pending) or self._should_continue(),
                                              timeout=timedelta(seconds=idle_left))
            except asyncio.TimeoutError:
                continue
            while self.state.pending and not self.gone:
                await self._fire(self.state.pending[0])
                self.state.pending.pop(0)
            if self.gone:
                return await self._end("workflow deleted")
            if self._should_continue():
                await workflow.wait_condition(workflow.all_handlers_finished)
                if not self.state.pending:  # a signal during the wait may have crossed again
                    self.state.continued += 1
                    workflow.continue_as_new(input.model_copy(update={"state": self.state}))

    @workflow.signal(name=POINTS_SIGNAL)
    def on_points(self, signal: PointsSignal) -> None:
        self.signals += 1
        state = self.state
        state.last_signal_at = workflow.now()
        if signal.watched.stamp >= state.watched.stamp and signal.watched != state.watched:
            if signal.watched.config.metric != state.watched.config.metric:
                state.points, state.fired = [], False  # another metric: its window starts empty, armed
            state.watched = signal.watched
        if signal.watched.config.metric != state.watched.config.metric:
            return  # points of a metric this watcher no longer watches (a stale signal)
        if signal.batch is not None:
            if signal.batch in state.recent_batches:
                return  # a retried request whose points this watcher already has
            state.recent_batches = [*state.recent_batches, signal.batch][-RECENT_BATCHES:]
        config = state.watched.config
        try:
            window = parse_duration(config.time_window)
        except DurationError:  # validated at create time; never loop on it here
            workflow.logger.warning("threshold %s: bad time_window %r", self.input.workflow_id, config.time_window)
            return
        state.points_received += len(signal.points)
        state.points = slide(state.points, signal.points, window, self.input.max_points)
        state.aggregate = aggregate(state.points, config.aggregate)
        condition = holds(state.aggregate, config.operator, config.value)
        if condition and not state.fired:
            state.fired = True
            state.fire_seq += 1
            state.pending.append(FireRecord(seq=state.fire_seq, at=workflow.now(), aggregate=state.aggregate))
        elif not condition and state.fired:
            state.fired = False  # recovered: armed again

    @workflow.query(name=STATE_QUERY)
    def query_state(self) -> WatcherState:
        return self.state

    def _idle_left(self) -> float:
        last = self.state.last_signal_at or workflow.now()
        return self.input.idle_seconds - (workflow.now() - last).total_seconds()

    def _should_continue(self) -> bool:
        return self.signals >= self.input.max_signals_per_run or workflow.info().is_continue_as_new_suggested()

    async def _end(self, reason: str) -> WatcherState:
        await workflow.wait_condition(workflow.all_handlers_finished)
        self.state.ended = reason
        return self.state

    async def _fire(self, record: FireRecord) -> None:
        config = self.state.watched.config
        trigger = TriggerInfo(
            type="threshold", received_at=record.at,
            data={"metric": config.metric, "value": record.aggregate, "threshold": config.value,
                  "time_window": config.time_window, "aggregate": config.aggregate},
            metric={"value": record.aggregate, "threshold": config.value, "time_window": config.time_window})
        key = f"{workflow.info().workflow_id}:{self.state.generation}:{record.seq}"
        fire = FireInput(tenant_id=self.input.tenant_id, workflow_id=self.input.workflow_id,
                         idempotency_key=key, trigger=trigger)
        try:
            result = await workflow.execute_activity(
                FIRE_ACTIVITY, fire, result_type=FireResult, start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                                         maximum_interval=timedelta(seconds=30), maximum_attempts=10))
            record.instance_id = result.instance_id
        except ActivityError as error:
            cause = error.cause
            kind = cause.type if isinstance(cause, ApplicationError) else None
            message = cause.message if isinstance(cause, ApplicationError) else str(cause or error)
            record.error = f"{kind or 'error'}: {message}"
            workflow.logger.warning("threshold %s not fired: %s", self.input.workflow_id, record.error)
            self.gone = kind == Failure.WORKFLOW_GONE
        self.state.recent_fires = [*self.state.recent_fires, record][-RECENT_FIRES:]
