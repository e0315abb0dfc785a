"""What the worker registers: the activity names running workflows and recorded histories call."""

from __future__ import annotations

from temporalio import activity

from activities import InMemoryConnectionStore, RelayActivities
from activities.models import (
    ACTION_ACTIVITIES,
    ADMIT_ACTIVITY,
    CALL_ACTIVITY,
    FAILURE_ACTIVITY,
    FIRE_ACTIVITY,
    FLOW_CLOSED_ACTIVITY,
    FLOW_ENQUEUE_ACTIVITY,
    FLOW_START_ACTIVITY,
    PRUNE_ACTIVITY,
    RECONCILE_ACTIVITY,
)
from app.config import Settings
from app.services.worker_activities import ServiceActivities
from worker import activity_settings


def names(functions) -> list[str]:
    return [activity._Definition.must_from_callable(fn).name for fn in functions]


def test_the_registered_activity_names_never_change():
    settings = Settings(env="test")
    actions = RelayActivities(activity_settings(settings), InMemoryConnectionStore()).list()
    services = ServiceActivities(settings, sessions=None).list()  # type: ignore[arg-type]
    assert names(actions) == ["send_email", "webhook", "send_channel_message", "create_task", "update_field"]
    assert names(actions) == list(ACTION_ACTIVITIES)
    assert names(services) == ["admit_scheduled_run", "fire_threshold", "prune_expired", "reconcile_schedules",
                               "prepare_call", "start_failure_workflow", "flow_enqueue", "flow_start", "flow_closed"]
    assert names(services) == [ADMIT_ACTIVITY, FIRE_ACTIVITY, PRUNE_ACTIVITY, RECONCILE_ACTIVITY, CALL_ACTIVITY,
                               FAILURE_ACTIVITY, FLOW_ENQUEUE_ACTIVITY, FLOW_START_ACTIVITY, FLOW_CLOSED_ACTIVITY]


def test_activity_settings_carry_the_operators_values():
    settings = Settings(env="test", outbound_allow="10.0.0.0/8, relay.test", outbound_timeout_seconds=7,
                        smtp_host="mail.test", smtp_port=465, smtp_from="ops@relay.test")
    built = activity_settings(settings)
    assert built.outbound_allow_list == ("10.0.0.0/8", "relay.test")
    assert (built.outbound_timeout_seconds, built.smtp_host, built.smtp_port, built.smtp_from) == (
        7, "mail.test", 465, "ops@relay.test")


def test_worker_slots_and_pollers_are_settings(monkeypatch):
    """RELAY_WORKER_* are read as settings; one workflow-task poller is refused at start (the SDK
    needs two when it caches workflows), not when the worker is built."""
    import pytest
    from pydantic import ValidationError

    monkeypatch.setenv("RELAY_WORKER_MAX_CONCURRENT_WORKFLOW_TASKS", "7")
    monkeypatch.setenv("RELAY_WORKER_WORKFLOW_TASK_POLLERS", "3")
    settings = Settings(env="test")
    monkeypatch.setenv("RELAY_WORKER_WORKFLOW_TASK_POLLERS", "1")
    with pytest.raises(ValidationError) as refused:
        Settings(env="test")

    assert settings.worker_max_concurrent_workflow_tasks == 7 and settings.worker_workflow_task_pollers == 3
    assert Settings.model_fields["worker_max_concurrent_workflow_tasks"].default == 5  # fairness: docs/embedding.md
    assert "worker_workflow_task_pollers" in str(refused.value)


def test_the_sandbox_shares_workflows_unless_told_to_reimport_them():
    """worker.py workflow_runner: RelayWorkflow's module and its helpers passed through (one import
    per process) by default, the long-lived workflow types' modules not; RELAY_WORKER_REIMPORT_WORKFLOWS
    =true gives back the SDK's default; tracing adds opentelemetry either way."""
    from temporalio.worker.workflow_sandbox import SandboxRestrictions

    from worker import REIMPORTED, workflow_runner

    shared = workflow_runner().restrictions.passthrough_modules
    assert {"workflows.interpreter", "workflows.blocks", "workflows.durations"} <= shared
    assert "workflows" not in shared and not set(REIMPORTED) & shared  # "workflows" would pass every module
    assert workflow_runner(reimport=True).restrictions.passthrough_modules == (
        SandboxRestrictions.default.passthrough_modules)
    traced = workflow_runner("opentelemetry", reimport=True).restrictions.passthrough_modules
    assert traced == SandboxRestrictions.default.passthrough_modules | {"opentelemetry"}
    assert Settings(env="test").worker_reimport_workflows is False


def test_reimporting_workflows_is_a_setting(monkeypatch):
    monkeypatch.setenv("RELAY_WORKER_REIMPORT_WORKFLOWS", "true")
    assert Settings(env="test").worker_reimport_workflows is True


def test_the_share_of_polls_for_new_runs_is_a_setting(monkeypatch):
    """RELAY_WORKER_NONSTICKY_POLL_RATIO reaches the SDK's nonsticky_to_sticky_poll_ratio; its
    default stays the SDK's 0.2 (1.0 runs local-step runs faster but lets more of a busy tenant's
    runs ahead of another's, and slows regular steps: docs/performance.md section 8, fifth pass)."""
    import pytest
    from pydantic import ValidationError

    import worker

    built: dict = {}
    monkeypatch.setattr(worker, "Worker", lambda client, **options: built.update(options))
    monkeypatch.setenv("RELAY_WORKER_NONSTICKY_POLL_RATIO", "1.0")
    from activities import InMemoryConnectionStore

    worker.build_worker(None, Settings(env="test"), None, store=InMemoryConnectionStore())  # type: ignore[arg-type]
    assert built["nonsticky_to_sticky_poll_ratio"] == 1.0
    assert Settings.model_fields["worker_nonsticky_poll_ratio"].default == 0.2
    monkeypatch.setenv("RELAY_WORKER_NONSTICKY_POLL_RATIO", "0")
    with pytest.raises(ValidationError, match="worker_nonsticky_poll_ratio"):
        Settings(env="test")
