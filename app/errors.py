"""The error envelope and the codes of SPEC §3: the one place errors become answers.

The services raise typed refusals (app/services/errors.py); `api_error` maps each to its code,
status and message, and the handlers `install_error_handlers` gives the app answer every error
through it. `ApiError` is the HTTP layer's own (authentication, scopes, rate limit, malformed
requests). The ASGI middleware, which runs before routing, answers with the same `envelope`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path
from temporalio.service import RPCError

from app.responses import SafeJSONResponse
from app.services.errors import DomainError, temporal_error
from workflows.problems import (
    pydantic_message,
)
from workflows.problems import (
    shorten as shorten,  # re-exported for the API's messages
)

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
    "gone": 410,
    "payload_too_large": 413,
    "rate_limited": 429,
    "quota_exceeded": 429,
    "internal_error": 500,
    "temporal_unavailable": 503,
    "database_unavailable": 503,  # Relay's database away (restarting); not in SPEC §3, docs/operations.md
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



def install_error_handlers(app: FastAPI) -> None:
    """Every error the app raises, answered with the envelope."""
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(DomainError, _on_refusal)
    app.add_exception_handler(RPCError, _on_temporal_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)


async def _on_api_error(request: Request, error: Exception) -> SafeJSONResponse:
    assert isinstance(error, ApiError)
    return answer(request, error)


async def _on_refusal(request: Request, error: Exception) -> SafeJSONResponse:
    assert isinstance(error, DomainError)
    return answer(request, api_error(error))


async def _on_temporal_error(request: Request, error: Exception) -> SafeJSONResponse:
    """An RPCError a service let through: 503 when Temporal cannot be reached."""
    assert isinstance(error, RPCError)
    return answer(request, api_error(temporal_error(error)))


async def _on_validation_error(request: Request, error: Exception) -> SafeJSONResponse:
    assert isinstance(error, RequestValidationError)
    details = [{"path": ".".join(str(p) for p in item["loc"] if p != "body") or "$",
                "message": pydantic_message(item)} for item in error.errors()]
    return answer(request, ApiError("validation_error", "the request is not valid", details=details))


async def _on_http_error(request: Request, error: Exception) -> SafeJSONResponse:
    assert isinstance(error, StarletteHTTPException)
    if error.status_code == 405:  # with every method the path has, not only its first route's
        allowed = ", ".join(allowed_methods(request.app, request.url.path))
        return answer(request, ApiError("method_not_allowed", f"{request.method} is not allowed here",
                                        headers={"Allow": allowed}))
    code = {404: "not_found", 413: "payload_too_large"}.get(error.status_code, "validation_error")
    message = "not found" if code == "not_found" else str(error.detail)
    return answer(request, ApiError(code, message))


def answer(request: Request, error: ApiError) -> SafeJSONResponse:
    request_id = getattr(request.state, "request_id", "")
    return SafeJSONResponse(envelope(error.code, error.message, request_id, error.details),
                            status_code=error.status_code, headers=error.headers)


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method some route of `path` answers (for 405's Allow header)."""
    methods: set[str] = set()
    for context in iter_route_contexts(app.routes):
        known = getattr(context.original_route, "methods", None)
        if known and context.path_format and compile_path(context.path_format)[0].match(path):
            methods |= known
    return sorted(methods)
