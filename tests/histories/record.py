"""Record Temporal histories of RelayWorkflow runs covering every block kind.

    .venv/bin/python -m tests.histories.record

writes tests/histories/<scenario>.json; tests/workflows/test_replay.py replays every
file with Temporal's Replayer, so a change to the interpreter that alters the commands
of a recorded run fails CI unless it sits behind workflow.patched(). Record again
(into new files, keeping the old ones) whenever the interpreter gains behaviour.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sys
import uuid
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.client import WorkflowFailureError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import InMemoryConnectionStore, RelayActivities
from activities.models import (
    CALL_ACTIVITY,
    FAILURE_ACTIVITY,
    FIRE_ACTIVITY,
    FLOW_ENQUEUE_ACTIVITY,
    FLOW_START_ACTIVITY,
    PRUNE_ACTIVITY,
    RECONCILE_ACTIVITY,
    CallInput,
    CallPrepared,
    FailureInput,
    FailureStarted,
    FireInput,
    FireResult,
)
from app.config import Settings
from app.temporal import SEARCH_ATTRIBUTES, collect, enqueue, start_run
from tests.receivers import HttpReceiver, SmtpReceiver
from worker import activity_settings
from workflows.collector import CollectRequest, FlowCollector
from workflows.definition import Definition
from workflows.flow import GateRequest
from workflows.flowgate import FlowGate
from workflows.interpreter import RelayWorkflow
from workflows.maintenance import RelayMaintenance
from workflows.models import (
    APPROVAL_UPDATE,
    Admission,
    ApprovalDecision,
    EventSignal,
    RunInput,
    StepRecord,
    TriggerInfo,
)
from workflows.threshold import ThresholdWatcher

HERE = Path(__file__).parent
FAST = {"max_attempts": 3, "initial_interval": "100ms", "backoff": 1.0, "max_interval": "100ms"}


def scenarios(http: str, smtp_tenant: str) -> dict[str, list[dict]]:
    call = lambda i, **kw: {"$kind": "Action", "id": i, "type": "webhook",  # noqa: E731
                             "input": {"url": http, "body": {"step": i, "who": "{{trigger.data.who}}"}},
                             "retry": FAST, **kw}
    return {
        "v1_actions_if_else": [
            call("first"),
            {"$kind": "Block", "type": "if-else", "id": "check",
             "inputs": {"condition": {"operatorName": "equals", "left": "{{first.output.status_code}}", "right": 200}},
             "branches": {"then": [{"$kind": "Action", "id": "mail", "type": "send_email",
                                    "input": {"to": ["a@example.com"], "subject": "hi {{who}}", "body": "b"}}],
                          "else": []}},
            {"$kind": "Action", "id": "chat", "type": "send_channel_message",
             "input": {"channel": "discord", "webhook_url": http, "message": "done"}},
        ],
        "v1_retry_then_continue": [call("flaky"), call("broken", on_error="continue"), call("after")],
        "v1_delay_wait_signal": [
            {"$kind": "Block", "type": "delay", "id": "nap", "inputs": {"duration": "1s"}},
            {"$kind": "Block", "type": "wait_for_event", "id": "ok", "inputs": {"event": "go", "timeout": "1m"},
             "branches": {"received": [call("got")]}},
            {"$kind": "Block", "type": "wait_for_event", "id": "late", "inputs": {"event": "never", "timeout": "1s"},
             "branches": {"timeout": [call("timed_out")]}},
        ],
        "v1_parallel_for_each_stop": [
            {"$kind": "Block", "type": "parallel", "id": "fan", "branches": {"a": [call("pa")], "b": [call("pb")]}},
            {"$kind": "Block", "type": "for_each", "id": "loop", "inputs": {"items": "{{trigger.data.items}}", "max_concurrency": 2},
             "branches": {"do": [call("each")]}},
            {"$kind": "Block", "type": "stop", "id": "end", "inputs": {"status": "completed", "reason": "done"}},
            call("never"),
        ],
        "v1_stop_failed": [{"$kind": "Block", "type": "stop", "id": "end", "inputs": {"status": "failed", "reason": "no"}}],
        "v1_user_error": [{"$kind": "Block", "type": "if-else", "id": "bad",
                           "inputs": {"condition": {"operatorName": "greater_than", "left": "{{who}}", "right": 1}}}],
        "v1_cancelled_in_delay": [{"$kind": "Block", "type": "delay", "id": "long", "inputs": {"duration": "1h"}}, call("never")],
        "v2_continue_as_new": [
            call("before"),
            {"$kind": "Block", "type": "for_each", "id": "loop", "inputs": {"items": "{{trigger.data.items}}"},
             "branches": {"do": [call("each")]}},
            call("after"),
        ],
        "v2_resumed_retry": [call("done_before"), call("failed_before")],
        "v3_cancelled_in_action": [call("slow", on_error="continue"), call("never")],
        # local steps (timeout <= 5 s): retried after 500, timed out three times, refused with 400;
        # a default-timeout step stays a regular activity; an email as a local step
        "v4_local_steps": [
            call("retried", timeout="2s"),
            call("too_slow", timeout="1s", on_error="continue"),
            call("refused", timeout="3s", on_error="continue"),
            call("regular"),
            {"$kind": "Action", "id": "mail", "type": "send_email", "timeout": "5s",
             "input": {"to": ["a@example.com"], "subject": "local", "body": "b"}},
        ],
        "v4_cancelled_in_local_step": [call("slow", timeout="5s", on_error="continue"), call("never")],
        # nested for_each: the inner step's key carries both indices (nested-loop-keys-v1)
        "v5_nested_loop_keys": [
            {"$kind": "Block", "type": "for_each", "id": "outer", "inputs": {"items": "{{trigger.data.items}}", "max_concurrency": 1},
             "branches": {"do": [{"$kind": "Block", "type": "for_each", "id": "inner",
                                  "inputs": {"items": [10, 20], "max_concurrency": 2},
                                  "branches": {"do": [call("each")]}}]}},
        ],
        # call_workflow: waited (the child's outputs) and not waited; the child is CHILD_BLOCKS
        "v6_call_workflow": [
            {"$kind": "Block", "type": "call_workflow", "id": "waited",
             "inputs": {"workflow_id": "wf_child", "data": {"who": "{{who}}"}}},
            {"$kind": "Block", "type": "call_workflow", "id": "loose",
             "inputs": {"workflow_id": "wf_child", "wait": False}},
            call("after"),
        ],
        # approval: the links rendered before the block, decided by the `approval` update
        "v6_approval": [
            {"$kind": "Action", "id": "mail", "type": "webhook", "retry": FAST,
             "input": {"url": http, "body": {"approve": "{{approvals.ok.approve_url}}"}}},
            {"$kind": "Block", "type": "approval", "id": "ok", "inputs": {"timeout": "1m", "message": "go?"},
             "branches": {"approved": [call("yes")], "timeout": [call("no")]}},
        ],
        # a failed run asks for its failure workflow (failure-workflow-v1)
        "v6_failure_workflow": [call("before"), {"$kind": "Block", "type": "stop", "id": "end",
                                                 "inputs": {"status": "failed", "reason": "no"}}],
        # flow control (flow-control-v1): a concurrency slot and a throttle window, entered by the
        # run itself (flow_enqueue) and admitted by RelayFlowGate; the slot given back at the end
        "v6_flow_gates": [call("gated")],
        # as the API starts one: marked queued and put in its first gate by the API itself
        "v6_flow_api_enqueued": [call("gated")],
        # debounce: the run waits for its collector, which hands it the burst's last trigger
        "v6_flow_debounce": [call("collected")],
        # a call of a callee with flow control (call-priority-v1, flow-call-uncollected-v1): the child
        # gets the callee's priority and passes its concurrency gate but no debounce collector; the
        # child's own history is recorded too (v7_call_flow_child)
        "v7_call_flow": [{"$kind": "Block", "type": "call_workflow", "id": "waited",
                          "inputs": {"workflow_id": "wf_flow_child", "data": {"who": "{{who}}"}}}],
        # a retry whose call_workflow step completed before: reused, no child started (resume-calls-v1);
        # the step after it sends the chain's first instance's key (retry_root)
        "v8_resumed_call": [{"$kind": "Block", "type": "call_workflow", "id": "sub",
                             "inputs": {"workflow_id": "wf_child"}}, call("after")],
    }


def child_blocks(http: str) -> list[dict]:
    return [{"$kind": "Action", "id": "child_step", "type": "webhook", "input": {"url": http}, "retry": FAST}]


def service_stand_ins(http: str) -> list:
    """The service activities (app/services/worker_activities.py) as recording stand-ins: the
    histories pin the workflow's commands, not what the database answered."""

    @activity.defn(name=CALL_ACTIVITY)
    async def prepare_call(input: CallInput) -> CallPrepared:
        flow = CALLEE_FLOW if input.workflow_id == "wf_flow_child" else None
        return CallPrepared(workflow_name="child", version=1, definition=Definition.model_validate(
            {"name": "child", "workflow_blocks": child_blocks(http), "flow_control": flow}))

    @activity.defn(name=FAILURE_ACTIVITY)
    async def start_failure_workflow(input: FailureInput) -> FailureStarted:
        return FailureStarted(instance_id="inst_handler")

    return [prepare_call, start_failure_workflow]


CALLEE_FLOW = {"debounce": {"period": "1m"}, "concurrency": {"limit": 1}, "priority": 1}
FLOWS = {
    "v6_flow_gates": {"concurrency": {"limit": 1, "key": "{{trigger.data.who}}"},
                      "throttle": {"limit": 5, "period": "1s"}, "priority": 2},
    "v6_flow_api_enqueued": {"concurrency": {"limit": 2}},
    "v6_flow_debounce": {"debounce": {"period": "1s", "key": "{{who}}"}},
}


def flow_activities(client: Any, settings: Settings) -> list[Any]:
    """The worker's flow_enqueue (app/services/worker_activities.py) without its database."""
    @activity.defn(name=FLOW_ENQUEUE_ACTIVITY)
    async def flow_enqueue(request: GateRequest) -> None:
        await enqueue(client, settings, "ten_r", request)

    @activity.defn(name=FLOW_START_ACTIVITY)
    async def flow_start(run: RunInput) -> None:
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await start_run(client, settings, run, trigger_type=run.trigger.type, queued=True,
                            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)

    return [flow_enqueue, flow_start]


async def start_as_the_api(client: Any, settings: Settings, run: RunInput) -> Any:
    """app/services/runs.py start_run: the run marked queued, then its first gate asked."""
    from app.temporal import search_attributes
    from workflows.context import base_context
    from workflows.flow import gates

    [gate] = gates(run.definition.flow_control, tenant_id=run.tenant_id, workflow_id=run.workflow_id,
                   context=base_context(run, "", run.instance_id))
    handle = await client.start_workflow(
        RelayWorkflow.run, run, id=run.instance_id, task_queue=settings.task_queue,
        search_attributes=search_attributes(tenant_id="ten_r", workflow_id="wf_r", version=1, trigger_type="manual",
                                            entity_id=None, queued=True))
    await enqueue(client, settings, "ten_r", GateRequest(run_id=run.instance_id, arrived_at=0.0, gate=gate))
    return handle


GATE_FLOW = {"concurrency": {"limit": 1, "key": "{{trigger.data.who}}"}, "throttle": {"limit": 2, "period": "1s"}}
GATE_HISTORIES = ("v9_gate_concurrency", "v9_gate_throttle")


async def record_gates(client: Any, settings: Settings, http: str) -> None:
    """Three runs through a concurrency gate (one at a time) and a throttle gate (two a second):
    the histories of the two RelayFlowGate workflows themselves, queueing, admitting, releasing."""
    from workflows.context import base_context
    from workflows.flow import gates

    runs = [RunInput(tenant_id="ten_r", instance_id=f"inst_{uuid.uuid4().hex}", workflow_id="wf_gates",
                     workflow_name="gates", version=1, trigger=TriggerInfo(data={"who": "kim"}),
                     definition=Definition.model_validate({"name": "gates", "workflow_blocks": child_blocks(http),
                                                           "flow_control": GATE_FLOW})) for _ in range(3)]
    handles = [await client.start_workflow(RelayWorkflow.run, run, id=run.instance_id, task_queue=settings.task_queue)
               for run in runs]
    for handle in handles:
        await handle.result()
    await asyncio.sleep(1)  # the last release reaches the gates
    first = runs[0]
    for gate, name in zip(gates(first.definition.flow_control, tenant_id=first.tenant_id, workflow_id=first.workflow_id,
                                context=base_context(first, "", first.instance_id)), GATE_HISTORIES, strict=True):
        history = await client.get_workflow_handle(gate.gate_id).fetch_history()
        (HERE / f"{name}.json").write_text(history.to_json())
        print("recorded", name, len(history.events), "events")


COLLECTOR_HISTORY = "v9_collector_debounce"


async def record_collector(client: Any, settings: Settings, http: str) -> None:
    """Three starts of a debounced workflow within its period, sent to RelayFlowCollector as the API
    sends them (update-with-start): one run, with the last start's trigger. The collector's history."""
    from app.services.flow import Waits

    def start(n: int) -> RunInput:
        return RunInput(tenant_id="ten_r", instance_id=f"inst_{uuid.uuid4().hex}", workflow_id="wf_debounced",
                        workflow_name="debounced", version=1, trigger=TriggerInfo(data={"who": "kim", "n": n}),
                        definition=Definition.model_validate({
                            "name": "debounced", "workflow_blocks": child_blocks(http),
                            "flow_control": {"debounce": {"period": "1s", "key": "{{trigger.data.who}}"}}}))

    owners = []
    for n in range(3):
        run = start(n)
        waits = Waits(run)
        assert waits.collector is not None
        owner = await collect(client, settings, CollectRequest(gate=waits.collector, run=run))
        if owner == run.instance_id:  # it opened the burst: started as the API starts it
            await start_run(client, settings, run, trigger_type="manual", queued=True,
                            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
        owners.append(owner)
    assert len(set(owners)) == 1, owners
    await client.get_workflow_handle(f"ten_r:{owners[0]}").result()
    history = await client.get_workflow_handle(waits.collector.gate_id).fetch_history()
    (HERE / f"{COLLECTOR_HISTORY}.json").write_text(history.to_json())
    print("recorded", COLLECTOR_HISTORY, len(history.events), "events")


WATCHER_HISTORY = "v9_threshold_watcher"


async def record_watcher(client: Any, queue: str) -> None:
    """A ThresholdWatcher fed as the API feeds it (signal-with-start per batch of points): below the
    threshold, a crossing (it fires), recovery (it re-arms), a second crossing. Its history."""
    from datetime import UTC, datetime, timedelta

    from workflows.definition import ThresholdConfig
    from workflows.threshold import (
        POINTS_SIGNAL,
        MetricPoint,
        PointsSignal,
        ThresholdWatcher,
        WatchedConfig,
        WatcherInput,
        watcher_id,
    )

    t0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    config = WatchedConfig(version=1, stamp=datetime(2029, 12, 31, tzinfo=UTC), config=ThresholdConfig.model_validate(
        {"metric": "error_rate", "operator": "greater_than", "value": 5, "time_window": "1m", "aggregate": "avg"}))
    watcher = watcher_id("ten_r", "wf_watched")
    for sent, (second, value) in enumerate(((0, 1.0), (10, 20.0), (100, 1.0), (110, 30.0)), start=1):
        points = [MetricPoint(at=t0 + timedelta(seconds=second), value=value)]
        await client.start_workflow(
            ThresholdWatcher.run, WatcherInput(tenant_id="ten_r", workflow_id="wf_watched", watched=config),
            id=watcher, task_queue=queue, start_signal=POINTS_SIGNAL,
            start_signal_args=[PointsSignal(watched=config, points=points, batch=f"b{second}")])
        for _ in range(200):  # until it has taken them and handed any crossing to its activity
            state = await client.get_workflow_handle_for(ThresholdWatcher.run, watcher).query(ThresholdWatcher.query_state)
            if state.points_received == sent and not state.pending:
                break
            await asyncio.sleep(0.05)
    handle = client.get_workflow_handle(watcher)
    history = await handle.fetch_history()
    await handle.terminate("recorded")
    (HERE / f"{WATCHER_HISTORY}.json").write_text(history.to_json())
    print("recorded", WATCHER_HISTORY, len(history.events), "events")


MAINTENANCE_HISTORY = "v9_maintenance"


async def record_maintenance(client: Any, queue: str) -> None:
    """One RelayMaintenance run (what its schedule starts): prune, then reconcile. Its history."""
    handle = await client.start_workflow(RelayMaintenance.run, id=f"maintenance-{uuid.uuid4().hex[:6]}",
                                         task_queue=queue)
    await handle.result()
    history = await handle.fetch_history()
    (HERE / f"{MAINTENANCE_HISTORY}.json").write_text(history.to_json())
    print("recorded", MAINTENANCE_HISTORY, len(history.events), "events")


def maintenance_stand_ins() -> list[Any]:
    @activity.defn(name=PRUNE_ACTIVITY)
    async def prune_expired() -> dict[str, int]:
        return {"idempotency_records": 3, "alerts": 1}

    @activity.defn(name=RECONCILE_ACTIVITY)
    async def reconcile_schedules() -> dict[str, int]:
        return {"schedules_created": 0, "schedules_deleted": 1}

    return [prune_expired, reconcile_schedules]


def fire_stand_in() -> Any:
    @activity.defn(name=FIRE_ACTIVITY)
    async def fire_threshold(input: FireInput) -> FireResult:
        return FireResult(instance_id=f"inst_fired_{input.idempotency_key[-8:]}")

    return fire_threshold


async def main() -> None:
    bin_dir = Path(sys.executable).parent
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(bin_dir / "temporal") if (bin_dir / "temporal").exists() else shutil.which("temporal"),
        data_converter=pydantic_data_converter,  # child runs (v6_call_workflow) carry the search attributes
        dev_server_extra_args=[arg for name, kind in SEARCH_ATTRIBUTES.items()
                               for arg in ("--search-attribute", f"{name}={kind}")])
    store = InMemoryConnectionStore()
    settings = Settings(env="test", outbound_allow="127.0.0.1/32")
    queue = f"record-{uuid.uuid4().hex[:6]}"
    settings = settings.model_copy(update={"task_queue": queue})
    async with env, HttpReceiver() as http, SmtpReceiver() as smtp:
        store.add("ten_r", name="mail", type="smtp", default=True, config={"host": smtp.host, "port": smtp.port})
        http.respond(500)  # the first call of v1_retry_then_continue fails once
        async with Worker(env.client, task_queue=queue, workflows=[RelayWorkflow, FlowGate, FlowCollector, ThresholdWatcher,
                                                                   RelayMaintenance],
                          activities=[*RelayActivities(activity_settings(settings), store).list(),
                                      *service_stand_ins(http.url), *flow_activities(env.client, settings),
                                      fire_stand_in(), *maintenance_stand_ins()]):
            for name, blocks in scenarios(http.url, "ten_r").items():
                if (HERE / f"{name}.json").exists():
                    continue  # recorded histories are never rewritten: they pin what older runs did
                http._script.clear()  # a scenario's answers are its own
                if name == "v4_local_steps":
                    http.respond(500)
                    http.respond(200)
                    for _ in range(3):
                        http.respond(200, {"late": True}, delay=1.5)
                    http.respond(400, "nope")
                if name == "v4_cancelled_in_local_step":  # a local step may call before start_workflow returns
                    http.respond(200, {"slow": True}, delay=3)
                if name == "v1_retry_then_continue":
                    http.respond(500)
                    http.respond(200)
                    for _ in range(3):
                        http.respond(400, "nope")
                run = RunInput(tenant_id="ten_r", instance_id=f"inst_{uuid.uuid4().hex}", workflow_id="wf_r",
                               workflow_name=name, version=1,
                               definition=Definition.model_validate({"name": name, "workflow_blocks": blocks,
                                                                     "flow_control": FLOWS.get(name)}),
                               trigger=TriggerInfo(data={"who": "kim", "items": [1, 2, 3]}))
                if name == "v2_continue_as_new":
                    run.continue_every = 2
                if name == "v2_resumed_retry":
                    run.resume = {"done_before": StepRecord(id="done_before", type="webhook", status="completed",
                                                            attempts=1, output={"status_code": 200})}
                    run.retry_of = "inst_earlier"
                if name == "v8_resumed_call":
                    run.resume = {"sub": StepRecord(id="sub", type="call_workflow", status="completed", attempts=1,
                                                    output={"instance_id": "inst_child", "status": "completed"})}
                    run.retry_of, run.retry_root = "inst_second", "inst_first"
                if name == "v6_flow_api_enqueued":
                    handle = await start_as_the_api(env.client, settings, run)
                else:
                    handle = await env.client.start_workflow(RelayWorkflow.run, run, id=run.instance_id,
                                                             task_queue=queue)
                if name == "v6_flow_debounce":  # as RelayFlowCollector does when the burst is over
                    await asyncio.sleep(0.5)
                    await handle.signal(RelayWorkflow.on_admit, Admission(
                        kind="debounce", trigger=TriggerInfo(data={"who": "kim", "last": True})))
                if name == "v1_delay_wait_signal":
                    await handle.signal(RelayWorkflow.on_event, EventSignal(name="go", payload={"x": 1}))
                if name == "v3_cancelled_in_action":
                    http.respond(200, {"slow": True}, delay=3)
                if name == "v6_approval":
                    await asyncio.sleep(1)
                    await handle.execute_update(APPROVAL_UPDATE, ApprovalDecision(block_id="ok", decision="approved",
                                                                                  by="kim"))
                if name in ("v1_cancelled_in_delay", "v3_cancelled_in_action", "v4_cancelled_in_local_step"):
                    await asyncio.sleep(1)
                    await handle.cancel()
                with contextlib.suppress(WorkflowFailureError):
                    await handle.result()
                history = await handle.fetch_history()
                (HERE / f"{name}.json").write_text(history.to_json())
                if name == "v7_call_flow":
                    state = await handle.result()
                    child = env.client.get_workflow_handle(f"ten_r:{state.steps['waited'].output['instance_id']}")
                    (HERE / f"{name}_child.json").write_text((await child.fetch_history()).to_json())
                print("recorded", name, len(history.events), "events")
            if not all((HERE / f"{name}.json").exists() for name in GATE_HISTORIES):
                await record_gates(env.client, settings, http.url)
            if not (HERE / f"{COLLECTOR_HISTORY}.json").exists():
                await record_collector(env.client, settings, http.url)
            if not (HERE / f"{WATCHER_HISTORY}.json").exists():
                await record_watcher(env.client, queue)
            if not (HERE / f"{MAINTENANCE_HISTORY}.json").exists():
                await record_maintenance(env.client, queue)


if __name__ == "__main__":
    asyncio.run(main())
