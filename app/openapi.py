"""/openapi.json tells the truth about answers (issue 13, finding 9).

FastAPI lists 200 and 422 for every operation; Relay never answers 422 and does answer the
SPEC §3 error codes. `document(app)` builds the document and then declares, per operation, the
errors the route can answer, each with the one ErrorEnvelope schema (the success envelope is the
route's own `response_model`, app/views.py; a /v1 route without one is refused):

- an authenticated route (it depends on `get_caller`): 401, 403, 429;
- a tenant route (it depends on `get_principal`): 400 (a platform key without Relay-Tenant, or naming
  no tenant);
- a route with query, header, body or path parameters (a NUL in a path is 400), and every
  POST/PATCH (the body guard and Idempotency-Key): 400;
- a route with a path parameter (an id, a token, a version number): 404;
- every POST (Idempotency-Key) and the conflicts in CONFLICTS: 409;
- a route that takes a body (POST/PATCH): 413;
- a route that needs Temporal (it depends on `get_temporal`): 503;
- EXTRA: what a route answers beyond those rules.

500 is never declared: it is a bug (the fuzz job, scripts/fuzz.py, fails on it).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, Field

from app.deps import INNER_DEPENDENCIES, get_caller, get_principal, get_temporal
from app.errors import STATUS
from app.views import RequestMeta

ERROR_REF = {"$ref": "#/components/schemas/ErrorEnvelope"}
BODY_METHODS = {"POST", "PATCH", "PUT"}


class ErrorBody(BaseModel):
    code: str = Field(json_schema_extra={"enum": [*sorted(STATUS)]})
    message: str
    details: list[Any] | None = Field(default=None, description="what is wrong, e.g. each invalid path")


class ErrorEnvelope(BaseModel):
    """Every error answer: SPEC §3."""

    error: ErrorBody
    meta: RequestMeta


class Readiness(BaseModel):
    status: str = Field(json_schema_extra={"enum": ["ready", "not_ready"]})
    checks: dict[str, str]


MODELS = (ErrorEnvelope, Readiness)

WHAT = {
    400: "validation_error: the request is not valid (details name each problem; a platform key must send "
         "Relay-Tenant naming a tenant on a tenant endpoint)",
    401: "invalid_key: missing, malformed, unknown, revoked or expired API key or session token, or its "
         "tenant is disabled",
    403: "insufficient_permissions: the key lacks the scope, or names another tenant in Relay-Tenant",
    404: "not_found",
    409: "idempotency_conflict: the Idempotency-Key was used with another request, or is in progress",
    413: "payload_too_large: the body is over the limit (1 MiB by default)",
    429: "rate_limited: over the key's rate limit (Retry-After says when to retry)",
    503: "temporal_unavailable: Temporal is not reachable; try again",
}
CONFLICTS: dict[tuple[str, str], str] = {
    ("POST", "/v1/workflows"): "duplicate_name",
    ("POST", "/v1/public/workflow"): "duplicate_name",
    ("POST", "/v1/accounts/{accountSid}/environments/{environmentSid}/buckets/{bucketSid}/workflows"): "duplicate_name",
    ("PATCH", "/v1/workflows/{workflow_id}"): "duplicate_name",
    ("POST", "/v1/workflows/{workflow_id}/trigger"): "workflow_disabled (its breaker tripped, or disabled)",
    ("POST", "/v1/hooks/{token}"): "workflow_disabled (its breaker tripped, or disabled)",
    ("POST", "/v1/instances/{instance_id}/cancel"): "instance_not_running: it has ended",
    ("POST", "/v1/automations/{workflow_id}/trigger"): "workflow_disabled (its breaker tripped, or disabled)",
    ("POST", "/v1/automations/{instance_id}/cancel"): "instance_not_running: it has ended",
    ("POST", "/v1/instances/{instance_id}/events"): "instance_not_running: it has ended",
    ("POST", "/v1/instances/{instance_id}/approvals/{block_id}"): "instance_not_running: it has ended",
    ("POST", "/v1/instances/{instance_id}/retry"): "workflow_disabled",
    ("POST", "/v1/connections"): "duplicate_name",
    ("POST", "/v1/tenants"): "duplicate_name (the name or the external_id)",
    ("PATCH", "/v1/tenants/{tenant_id}"): "duplicate_name (the name)",
}
PAGES = {"/v1/approvals/{token}"}  # HTML for people (app/routers/approvals.py); errors JSON or HTML
RUNS = "max_running_instances or max_runs_per_day"
QUOTAS: dict[tuple[str, str], str] = {  # 429 quota_exceeded (SPEC §3.3): which of the tenant's quotas
    ("POST", "/v1/workflows"): "max_workflows",
    ("POST", "/v1/public/workflow"): "max_workflows",
    ("POST", "/v1/accounts/{accountSid}/environments/{environmentSid}/buckets/{bucketSid}/workflows"): "max_workflows",
    ("POST", "/v1/workflows/{workflow_id}/trigger"): RUNS,
    ("POST", "/v1/hooks/{token}"): RUNS,
    ("POST", "/v1/automations/{workflow_id}/trigger"): RUNS,
    ("POST", "/v1/instances/{instance_id}/retry"): RUNS,
}
EXTRA: dict[tuple[str, str], dict[int, str]] = {
    ("POST", "/v1/hooks/{token}"): {401: "invalid_key: missing or bad signature (a hook with a secret)"},
    ("DELETE", "/v1/sessions/{session_id}"): {400: "validation_error: Relay-Tenant and linked_account_id disagree"},
    ("POST", "/v1/instances/{instance_id}/approvals/{block_id}"): {
        404: "not_found: no such instance, or it has no approval block of that id",
        410: "gone: the approval was already decided, or timed out"},
    ("GET", "/v1/approvals/{token}"): {404: "not_found: the link is not valid",
                                       410: "gone: decided, timed out, or the run has ended"},
    ("POST", "/v1/approvals/{token}"): {404: "not_found: the link is not valid",
                                        410: "gone: decided, timed out, or the run has ended"},
}


def _calls(dependant: Dependant) -> set[Any]:
    """Every dependency `dependant` runs, at any depth."""
    found: set[Any] = set()
    for sub in dependant.dependencies:
        found |= {sub.call} | INNER_DEPENDENCIES.get(sub.call, frozenset()) | _calls(sub)  # type: ignore[arg-type]
    return found


def error_statuses(route: APIRoute, method: str, path: str) -> dict[int, str]:
    """The error statuses `route` (served at `path`) can answer for `method`, each with what it means."""
    calls = _calls(route.dependant)
    dependant = route.dependant
    statuses: set[int] = set()
    if get_caller in calls:
        statuses |= {401, 403, 429}
    if get_principal in calls:
        statuses.add(400)
    if dependant.query_params or dependant.header_params or dependant.body_params or dependant.path_params \
            or method in BODY_METHODS:  # any path parameter: a NUL in it is 400 (app/middleware.py)
        statuses.add(400)
    if dependant.path_params:
        statuses.add(404)
    conflict = CONFLICTS.get((method, path))
    if method == "POST" or conflict is not None:
        statuses.add(409)
    if method in BODY_METHODS:
        statuses.add(413)
    if get_temporal in calls:
        statuses.add(503)
    what = {status: WHAT[status] for status in statuses}
    if conflict:
        what[409] = f"{conflict}; or {WHAT[409]}" if method == "POST" else conflict
    what.update(EXTRA.get((method, path), {}))
    quota = QUOTAS.get((method, path))
    if quota:
        exceeded = f"quota_exceeded: the tenant's {quota} is reached (details name the quota and its limit)"
        what[429] = f"{exceeded}; or {what[429]}" if 429 in what else exceeded
    return dict(sorted(what.items()))


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def operations(app: FastAPI) -> list[tuple[str, str, APIRoute]]:
    """(path, method, route) of every operation in the document."""
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and route.include_in_schema and context.path_format:
            found += [(context.path_format, method, route) for method in sorted(route.methods or ())]
    return found


def _declare(operation: dict[str, Any], route: APIRoute, method: str, path: str) -> None:
    responses = operation.setdefault("responses", {})
    responses.pop("422", None)
    if path.startswith("/v1/") and route.response_model is None and path not in PAGES:
        raise TypeError(f"{method} {path} declares no response model (app/views.py)")
    errors = error_statuses(route, method, path)
    for status, what in errors.items():
        answer: dict[str, Any] = {"description": what, "content": _json(ERROR_REF)}
        if path in PAGES:  # a browser (Accept: text/html) gets the error as a small page
            answer["content"]["text/html"] = {"schema": {"type": "string"}}
        if status == 429:
            answer["headers"] = {"Retry-After": {"schema": {"type": "string"}, "description": "seconds to wait"}}
        responses[str(status)] = answer
    if 401 in errors and path != "/v1/hooks/{token}":
        operation["security"] = [{"bearer": []}, {"apiKey": []}]


def _no_nul_in_query(paths: dict[str, Any]) -> None:
    """A NUL in a query string is refused before routing (app/middleware.py: PostgreSQL text cannot
    hold one), so a free string parameter says so: no pattern of its own means no NUL."""
    for operation in (op for item in paths.values() for op in item.values() if isinstance(op, dict)):
        for parameter in operation.get("parameters", []):
            if parameter.get("in") != "query":
                continue
            schema = parameter.get("schema", {})
            for branch in [schema, *schema.get("anyOf", [])]:
                if branch.get("type") == "string" and "pattern" not in branch:
                    branch["pattern"] = "^[^\\x00]*$"


def document(app: FastAPI) -> dict[str, Any]:
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = schema.setdefault("components", {})
    models = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        models.pop(name, None)
    for model in MODELS:
        found = model.model_json_schema(ref_template="#/components/schemas/{model}")
        models.update(found.pop("$defs", {}))
        models[model.__name__] = found
    components["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer",
                   "description": "an API key or session token: Authorization: Bearer rly_…|rst_…"},
        "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key",
                   "description": "the same key or session token as x-api-key (seed 002)"}}
    for path, method, route in operations(app):
        operation = schema["paths"].get(path, {}).get(method.lower())
        if operation is not None:
            _declare(operation, route, method, path)
    _health(schema["paths"])
    _no_nul_in_query(schema["paths"])
    hook = schema["paths"].get("/v1/hooks/{token}", {}).get("post")
    if hook is not None:  # the handler reads the raw body itself: any JSON (or text) is the trigger's data
        hook["requestBody"] = {"required": False, "description": "any body: a JSON object is the trigger's data; "
                               "anything else arrives as data.body", "content": _json({"type": "object"})}
    return schema


def _health(paths: dict[str, Any]) -> None:
    """The unauthenticated probes: readiness answers 503 with its checks; /metrics is Prometheus text."""
    if "/readyz" in paths:
        ready = _json({"$ref": "#/components/schemas/Readiness"})
        paths["/readyz"]["get"]["responses"] = {
            "200": {"description": "the database and Temporal are reachable", "content": ready},
            "503": {"description": "not ready: a check failed", "content": ready}}
    if "/metrics" in paths:
        paths["/metrics"]["get"]["responses"] = {
            "200": {"description": "Prometheus text format", "content": {"text/plain": {"schema": {"type": "string"}}}}}


def install(app: FastAPI) -> None:
    """Serve `document(app)` (built once, on first use) as /openapi.json."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
