"""Recorded histories of every block kind replay on the current interpreter (determinism guard)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from worker import workflow_runner
from workflows.collector import FlowCollector
from workflows.flow import GATE_WORKFLOW
from workflows.flowgate import FlowGate, GateState
from workflows.interpreter import RelayWorkflow
from workflows.maintenance import RelayMaintenance
from workflows.models import RunInput, RunState
from workflows.threshold import ThresholdWatcher

HISTORIES = sorted((Path(__file__).parents[1] / "histories").glob("*.json"))
RECORDED = [RelayWorkflow, FlowGate, FlowCollector, ThresholdWatcher, RelayMaintenance]  # the recorded types (v9_*: the others' own runs)


def test_histories_are_recorded():
    assert len(HISTORIES) >= 10, "run `python -m tests.histories.record`"


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays(path: Path):
    for runner in (workflow_runner(), SandboxedWorkflowRunner()):  # the worker's sandbox, and the default one
        replayer = Replayer(workflows=RECORDED, data_converter=pydantic_data_converter, workflow_runner=runner)
        history = WorkflowHistory.from_json(path.stem, path.read_text())
        await replayer.replay_workflow(history)


async def test_every_history_replays_with_the_tracing_interceptor():
    """Tracing on (app/tracing.py: the client's TracingInterceptor, opentelemetry passed through the
    sandbox) adds no command: every recorded history, traced or not, replays."""
    from temporalio.contrib.opentelemetry import TracingInterceptor

    replayer = Replayer(workflows=RECORDED, data_converter=pydantic_data_converter,
                        interceptors=[TracingInterceptor()], workflow_runner=workflow_runner("opentelemetry"))
    for path in HISTORIES:
        await replayer.replay_workflow(WorkflowHistory.from_json(path.stem, path.read_text()))


@workflow.defn(name="RelayWorkflow", sandboxed=False)
class ReorderedRelayWorkflow(RelayWorkflow):
    """RelayWorkflow with one unpatched change: a timer before every action."""

    @workflow.init
    def __init__(self, run: RunInput) -> None:
        super().__init__(run)
        run_step = self.walker.actions.run_step

        async def timer_first(block, scope) -> None:
            await workflow.sleep(timedelta(milliseconds=1))
            await run_step(block, scope)

        self.walker.actions.run_step = timer_first  # type: ignore[method-assign]

    @workflow.run
    async def run(self, run: RunInput) -> RunState:  # type: ignore[override]
        return await super().run(run)


async def nondeterminism(changed: type, stem: str) -> bool:
    """Whether the recorded history `stem` fails to replay on the `changed` workflow class as
    nondeterministic."""
    path = next(p for p in HISTORIES if p.stem == stem)
    replayer = Replayer(workflows=[changed], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(WorkflowHistory.from_json(path.stem, path.read_text()),
                                            raise_on_replay_failure=False)
    return result.replay_failure is not None and "nondetermin" in str(result.replay_failure).lower()


async def test_replay_catches_a_change_of_command_order_without_a_patch():
    """Proof that the replay suite guards determinism: the recorded history no longer replays."""
    assert await nondeterminism(ReorderedRelayWorkflow, "v1_actions_if_else")


@workflow.defn(name=GATE_WORKFLOW, sandboxed=False)
class GreedyGate(FlowGate):
    """RelayFlowGate admitting one run more than its limit."""

    @workflow.init
    def __init__(self, state: GateState) -> None:
        super().__init__(state)

    @workflow.run
    async def run(self, state: GateState) -> None:
        return await super().run(state)

    def _has_room(self) -> bool:
        gate = self.state.gate
        return gate.kind != "concurrency" or len(self.state.holders) <= gate.limit


async def test_the_gates_histories_catch_a_change_of_admission():
    """The recorded RelayFlowGate history guards the gate's own decisions: a gate that admits one
    run beyond its concurrency limit no longer replays it."""
    assert await nondeterminism(GreedyGate, "v9_gate_concurrency")
