"""The product's refusals, as typed exceptions the services raise (SPEC §3 lists the answers).

The HTTP layer maps them to the error envelope in one place (app/errors.py `api_error`, installed
by app/main.py); the worker's service activities turn them into `ApplicationError`s
(app/services/worker_activities.py). Each kind has a stable snake_case name, `kind`: SPEC §3's
code for it, and the `ApplicationError` type of a refused `fire_threshold` (recorded watcher
histories contain those types, and `ThresholdWatcher` reads `not_found`).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from temporalio.service import RPCError, RPCStatusCode


class DomainError(Exception):
    kind: str = "internal_error"
    retryable: ClassVar[bool] = False  # would the same call succeed later (the worker retries it)?

    def __init__(self, message: str, *, details: list[Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers or {}


class NotFound(DomainError):
    kind = "not_found"

    def __init__(self, what: str, message: str | None = None) -> None:
        super().__init__(message or f"{what} not found")
        self.what = what


class InvalidInput(DomainError):
    """A request the rules refuse; `details` name each path and the offending value."""

    kind = "validation_error"


ConflictKind = Literal["duplicate_name", "idempotency_conflict", "instance_not_running"]


class Conflict(DomainError):
    def __init__(self, reason: ConflictKind, message: str, **extra: Any) -> None:
        super().__init__(message, **extra)
        self.kind = reason


class Forbidden(DomainError):
    """The caller may not do this (a session asking for a scope its creator lacks, SPEC §3.3)."""

    kind = "insufficient_permissions"


class Gone(DomainError):
    """Something that was there and is no more: an approval already decided or timed out (SPEC §2.4)."""

    kind = "gone"


class WorkflowDisabled(DomainError):
    kind = "workflow_disabled"


class TemporalUnavailable(DomainError):
    kind = "temporal_unavailable"
    retryable = True


class TemporalRefused(DomainError):
    """Temporal answered a call with an error that is not ours to explain (500)."""

    kind = "internal_error"
    retryable = True


def temporal_error(error: RPCError) -> DomainError:
    """A Temporal call that failed, as a refusal: Temporal unavailable when it cannot be reached."""
    if error.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
        return TemporalUnavailable("Temporal is not reachable; try again")
    return TemporalRefused("Temporal refused the request")
