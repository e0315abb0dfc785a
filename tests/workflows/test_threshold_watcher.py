"""ThresholdWatcher under the time-skipping server: crossings fire once, recovery re-arms, the window
slides, every aggregate, continue-as-new keeps the state, idleness ends the watcher. The run-starting
activity is replaced by a recorder under its real name (starting runs is what tests/e2e proves)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.worker import Worker

from activities.models import FIRE_ACTIVITY, FireInput, FireResult
from workflows.definition import ThresholdConfig
from workflows.threshold import (
    POINTS_SIGNAL,
    MetricPoint,
    PointsSignal,
    ThresholdWatcher,
    WatchedConfig,
    WatcherInput,
    WatcherState,
    aggregate,
    holds,
    slide,
    watcher_id,
)

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
STAMP = datetime(2029, 12, 31, tzinfo=UTC)


def watched(version: int = 1, stamp: datetime = STAMP, **config) -> WatchedConfig:
    values = {"metric": "error_rate", "operator": "greater_than", "value": 5, "time_window": "5m",
              "aggregate": "avg", **config}
    return WatchedConfig(version=version, stamp=stamp, config=ThresholdConfig.model_validate(values))


def points(*pairs: tuple[float, float]) -> list[MetricPoint]:
    """(seconds after T0, value) pairs."""
    return [MetricPoint(at=T0 + timedelta(seconds=s), value=v) for s, v in pairs]


class Recorder:
    """A stand-in for fire_threshold that records each call (or refuses, like a disabled workflow)."""

    def __init__(self, refuse: str | None = None) -> None:
        self.calls: list[FireInput] = []
        self.refuse = refuse

    @activity.defn(name=FIRE_ACTIVITY)
    async def fire(self, input: FireInput) -> FireResult:
        self.calls.append(input)
        if self.refuse:
            raise ApplicationError("the workflow is disabled", type=self.refuse, non_retryable=True)
        return FireResult(instance_id=f"inst_{len(self.calls)}")


class Watcher:
    def __init__(self, client: Client, queue: str, **input_fields) -> None:
        self.client, self.queue = client, queue
        self.workflow_id = f"wf_{uuid.uuid4().hex[:8]}"
        self.id = watcher_id("ten_t", self.workflow_id)
        self.input_fields = input_fields
        self.sent = 0

    async def send(self, pts: list[MetricPoint], config: WatchedConfig | None = None,
                   batch: str | None = None, settle: bool = True) -> WatcherState | None:
        """Signal-with-start like the API does; returns the state once the watcher has taken them."""
        config = config or watched()
        await self.client.start_workflow(
            ThresholdWatcher.run, WatcherInput(tenant_id="ten_t", workflow_id=self.workflow_id, watched=config,
                                               **self.input_fields),
            id=self.id, task_queue=self.queue, start_signal=POINTS_SIGNAL,
            start_signal_args=[PointsSignal(watched=config, points=pts, batch=batch)])
        self.sent += len(pts)
        return await self.settled() if settle else None

    async def settled(self) -> WatcherState:
        state = None
        for _ in range(200):
            try:
                state = await self.handle().query(ThresholdWatcher.query_state, rpc_timeout=timedelta(seconds=2))
            except RPCError:  # asked the run that was just continuing as new
                continue
            if state.points_received == self.sent and not state.pending:
                return state
            await asyncio.sleep(0.02)
        raise AssertionError(f"the watcher did not settle: {state}")

    def handle(self) -> WorkflowHandle:
        return self.client.get_workflow_handle_for(ThresholdWatcher.run, self.id)


class Bench:
    """A worker with the watcher and the recorder on a fresh task queue; watchers end with the test,
    so no timer of theirs holds the shared time-skipping server back later."""

    def __init__(self, client: Client, queue: str, recorder: Recorder) -> None:
        self.client, self.queue, self.recorder = client, queue, recorder
        self.watchers: list[Watcher] = []

    def watcher(self, **input_fields) -> Watcher:
        self.watchers.append(Watcher(self.client, self.queue, **input_fields))
        return self.watchers[-1]

    async def close(self) -> None:
        for watcher in self.watchers:
            with contextlib.suppress(RPCError):
                await watcher.handle().terminate("test over")


@contextlib.asynccontextmanager
async def running_bench(client: Client):
    queue = f"th-{uuid.uuid4().hex[:8]}"
    recorder = Recorder()
    async with Worker(client, task_queue=queue, workflows=[ThresholdWatcher], activities=[recorder.fire]):
        bench = Bench(client, queue, recorder)
        try:
            yield bench
        finally:
            await bench.close()


@pytest.fixture
async def bench(time_skipping_env):
    async with running_bench(time_skipping_env.client) as bench:
        yield bench


@pytest.fixture
async def dev_bench(temporal_env):
    """On the dev server: the time-skipping server can lose a query that races a continue-as-new and
    then keeps its clock locked for the rest of the session."""
    async with running_bench(temporal_env.client) as bench:
        yield bench


async def test_crossing_fires_once_recovery_rearms_and_a_second_crossing_fires_again(bench):
    recorder = bench.recorder
    watcher = bench.watcher()

    state = await watcher.send(points((0, 1), (1, 2)))
    assert (state.aggregate, state.fired, recorder.calls) == (1.5, False, [])

    state = await watcher.send(points((2, 20)))  # avg 23/3 > 5
    assert state.fired and len(recorder.calls) == 1
    first = recorder.calls[0]
    assert first.tenant_id == "ten_t" and first.workflow_id == watcher.workflow_id
    assert first.trigger.type == "threshold"
    assert first.trigger.metric == {"value": pytest.approx(23 / 3), "threshold": 5, "time_window": "5m"}
    assert first.trigger.data == {"metric": "error_rate", "value": pytest.approx(23 / 3), "threshold": 5,
                                  "time_window": "5m", "aggregate": "avg"}
    assert state.recent_fires[0].instance_id == "inst_1"

    state = await watcher.send(points((3, 30), (4, 40)))  # still above: no second run
    assert state.fired and len(recorder.calls) == 1

    state = await watcher.send(points((400, 0)))  # the window moves on: avg 0, armed again
    assert (state.aggregate, state.fired, len(recorder.calls)) == (0, False, 1)

    state = await watcher.send(points((401, 100)))
    assert state.fired and len(recorder.calls) == 2
    assert recorder.calls[1].trigger.metric["value"] == 50
    keys = [call.idempotency_key for call in recorder.calls]
    assert len(set(keys)) == 2 and all(key.startswith(watcher.id + ":") for key in keys)


async def test_window_slides_over_the_points_own_times(bench):
    watcher = bench.watcher()
    # Out of order on purpose: the window is ordered by `at`, anchored at the newest point.
    state = await watcher.send(points((120, 2), (0, 1), (60, 3)))
    assert [p.value for p in state.points] == [1, 3, 2]
    state = await watcher.send(points((330, 4)))  # the window is (30s, 330s]: the point at 0s is gone
    assert [p.value for p in state.points] == [3, 2, 4]
    state = await watcher.send(points((10, 99)))  # late: already outside the window
    assert [p.value for p in state.points] == [3, 2, 4] and state.aggregate == 3


@pytest.mark.parametrize("how, operator, threshold, expected", [
    ("avg", "greater_than", 5, 5.5), ("min", "less_than", 4, 1), ("max", "greater_than", 6, 11),
    ("sum", "greater_than", 10, 22), ("count", "greater_than", 2, 4)])
async def test_each_aggregate_is_compared_with_the_threshold(bench, how, operator, threshold, expected):
    recorder = bench.recorder
    watcher = bench.watcher()
    config = watched(aggregate=how, operator=operator, value=threshold)
    state = await watcher.send(points((0, 6), (1, 4)), config)  # avg 5, min 4, max 6, sum 10, count 2
    assert not state.fired and recorder.calls == []
    state = await watcher.send(points((2, 1), (3, 11)), config)
    assert state.aggregate == expected and state.fired
    [call] = recorder.calls
    assert call.trigger.metric == {"value": expected, "threshold": threshold, "time_window": "5m"}
    assert call.trigger.data["aggregate"] == how


async def test_continue_as_new_carries_the_whole_state(dev_bench):
    recorder = dev_bench.recorder
    watcher = dev_bench.watcher(max_signals_per_run=2)
    await watcher.send(points((0, 10)))  # fires
    first_run = (await watcher.handle().describe()).run_id
    await watcher.send(points((1, 10)))
    state = await watcher.send(points((2, 10)))  # still above after continuing as new: no second run
    assert state.continued >= 1
    assert [p.value for p in state.points] == [10, 10, 10] and state.fired and len(recorder.calls) == 1
    await watcher.send(points((400, 0)))
    state = await watcher.send(points((401, 20)))
    assert state.continued >= 2 and state.fire_seq == 2 and len(recorder.calls) == 2
    # The idempotency keys of one watcher stay distinct across runs of the chain.
    assert len({call.idempotency_key for call in recorder.calls}) == 2
    assert (await watcher.handle().describe()).run_id != first_run


async def test_a_newer_config_is_adopted_and_an_older_one_ignored(bench):
    recorder = bench.recorder
    watcher = bench.watcher()
    await watcher.send(points((0, 10)), watched(value=50))
    assert recorder.calls == []
    newer = watched(version=2, stamp=STAMP + timedelta(hours=1), value=5)
    state = await watcher.send(points((1, 10)), newer)
    assert state.watched.version == 2 and len(recorder.calls) == 1
    state = await watcher.send(points((2, 10)), watched(value=50))  # a stale signal's points still count
    assert state.watched.version == 2 and state.fired and len(state.points) == 3


async def test_a_retried_batch_is_taken_once(bench):
    watcher = bench.watcher()
    await watcher.send(points((0, 1)), batch="b1")
    await watcher.send(points((0, 1)), batch="b1", settle=False)  # the API retried a request after a 503
    watcher.sent = 1  # one point taken so far; the next one makes two
    state = await watcher.send(points((1, 3)), batch="b2")  # signals are handled in order
    assert [p.value for p in state.points] == [1, 3] and state.points_received == 2


async def test_a_refused_start_is_not_retried_and_the_watcher_goes_on(bench):
    bench.recorder.refuse = "workflow_disabled"
    watcher = bench.watcher()
    state = await watcher.send(points((0, 10)))
    assert len(bench.recorder.calls) == 1 and state.fired
    assert state.recent_fires[0].error.startswith("workflow_disabled")
    state = await watcher.send(points((1, 10)))  # still the same crossing
    assert len(bench.recorder.calls) == 1


async def test_an_idle_watcher_ends_itself(bench, time_skipping_env):
    watcher = bench.watcher(idle_seconds=3600)
    await watcher.send(points((0, 1)))
    await time_skipping_env.sleep(timedelta(hours=2))  # the time-skipping server jumps the idle hour
    result = await watcher.handle().result()
    assert result.ended == "idle" and result.points[0].value == 1


def test_pure_helpers():
    pts = points((0, 2), (1, 8), (2, 5))
    assert [aggregate(pts, how) for how in ("avg", "min", "max", "sum", "count")] == [5, 2, 8, 15, 3]
    assert aggregate([], "avg") is None and aggregate([], "count") == 0 and aggregate([], "sum") == 0
    assert not holds(None, "less_than", 1)
    assert [holds(5, op, 5) for op in ("greater_than", "less_than", "greater_or_equal", "less_or_equal",
                                       "equals", "not_equals")] == [False, False, True, True, True, False]
    bounded = slide([], points(*((i, i) for i in range(20))), timedelta(hours=1), limit=10)
    assert [p.value for p in bounded] == list(range(10, 20))
