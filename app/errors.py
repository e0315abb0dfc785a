"""The error envelope and the codes of SPEC §3: the one place errors become answers.

The services raise typed refusals (app/services/errors.py); `api_error` maps each to its code,
status and message, and app/main.py's handlers answer every error through it. `ApiError` is the
HTTP layer's own (authentication, scopes, rate limit, malformed requests).
"""

from __future__ import annotations

from typing import Any

from app.services.errors import DomainError
from workflows.problems import shorten  # noqa: F401  (re-exported for the API's messages)

STATUS = {
    "validation_error": 400,
    "invalid_key": 401,
    "insufficient_permissions": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "duplicate_name": 409,
    "workflow_disabled": 409,
    "instance_not_running": 409,
    "idempotency_conflict": 409,
    "payload_too_large": 413,
    "rate_limited": 429,
    "quota_exceeded": 429,
    "internal_error": 500,
    "temporal_unavailable": 503,
}


class ApiError(Exception):
    def __init__(self, code: str, message: str, *, details: list[Any] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}

    @property
    def status_code(self) -> int:
        return STATUS[self.code]


def api_error(error: DomainError) -> ApiError:
    """A service's refusal as the API answers it: the refusal's kind is its SPEC §3 code."""
    return ApiError(error.kind, error.message, details=error.details, headers=error.headers)


def envelope(code: str, message: str, request_id: str, details: list[Any] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error, "meta": {"request_id": request_id}}

