"""Typed refusals keep the codes clients and recorded watcher histories know (#15 item 2)."""

from __future__ import annotations

import pytest
from temporalio.service import RPCError, RPCStatusCode

from app.errors import STATUS, api_error
from app.services.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    TemporalRefused,
    TemporalUnavailable,
    WorkflowDisabled,
    temporal_error,
)
from app.services.quotas import QuotaExceeded
from relay_common.failures import Failure


@pytest.mark.parametrize(("error", "code", "status", "retryable"), [
    (NotFound("workflow"), "not_found", 404, False),
    (InvalidInput("bad", details=[{"path": "x"}]), "validation_error", 400, False),
    (Conflict("duplicate_name", "taken"), "duplicate_name", 409, False),
    (Conflict("idempotency_conflict", "other"), "idempotency_conflict", 409, False),
    (Conflict("instance_not_running", "ended"), "instance_not_running", 409, False),
    (WorkflowDisabled("off"), "workflow_disabled", 409, False),
    (QuotaExceeded("max_workflows", 1), "quota_exceeded", 429, False),
    (TemporalUnavailable("away"), "temporal_unavailable", 503, True),
    (TemporalRefused("no"), "internal_error", 500, True),
])
def test_each_refusal_is_answered_with_its_spec_code(error, code, status, retryable):
    answer = api_error(error)
    assert (error.kind, answer.code, answer.status_code, error.retryable) == (code, code, status, retryable)
    assert answer.message == error.message and answer.details == error.details
    assert code in STATUS


def test_a_gone_workflow_is_the_kind_running_watchers_read():
    assert NotFound("workflow").kind == Failure.WORKFLOW_GONE == "not_found"
    assert NotFound("version").message == "version not found"


def test_temporal_errors_become_refusals():
    assert isinstance(temporal_error(RPCError("x", RPCStatusCode.UNAVAILABLE, b"")), TemporalUnavailable)
    assert isinstance(temporal_error(RPCError("x", RPCStatusCode.INTERNAL, b"")), TemporalRefused)
