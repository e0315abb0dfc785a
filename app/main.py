"""create_app(): assembles the API (lifespan, middleware, error handlers, routers)."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.middleware.cors import CORSMiddleware
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import Client
from temporalio.service import RPCError

from app.config import Settings, get_settings
from app.db.migrate import migrate
from app.db.session import make_engine, make_sessionmaker
from app.errors import ApiError, api_error, envelope
from workflows.problems import pydantic_message
from app.idempotency import IdempotencyMiddleware
from app.logging import configure_logging
from app.prometheus import PROMETHEUS, PrometheusMiddleware
from app.openapi import allowed_methods, install as install_openapi
from app.middleware import BodyGuardMiddleware, RequestContextMiddleware
from app.ratelimit import RateLimiter
from app.responses import SafeJSONResponse
from app.routers import health, instances, workflows
from app.routers import alerts, audit, connections, keys
from app.routers import metric_points
from app.routers import automations, events, hooks
from app.routers import sessions, tenants
from app.services.errors import DomainError
from app.services.runs import temporal_error
from app.services.tenants import use_default_quotas
from app.temporal import connect

log = structlog.get_logger("relay.api")
# What the API reads from a browser's request, and what its answers carry that a page may read.
CORS_HEADERS = ["Authorization", "x-api-key", "Relay-Tenant", "linked_account_id", "Idempotency-Key",
                "Content-Type", "X-Request-ID", "X-Relay-Signature"]
CORS_EXPOSED = ["X-Request-ID", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After",
                "Idempotent-Replayed"]


def create_app(settings: Settings | None = None, *, temporal: Client | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if settings.auto_migrate:
            await asyncio.to_thread(migrate, settings.database_url)
        engine = make_engine(settings.database_url)
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        app.state.temporal = temporal or await connect(settings)
        log.info("api.started", temporal=settings.temporal_address, namespace=settings.temporal_namespace)
        yield
        await engine.dispose()

    app = FastAPI(title="Relay", version="1", lifespan=lifespan)
    app.state.settings = settings

    app.state.rate_limiter = RateLimiter(settings)
    app.state.prometheus = PROMETHEUS
    use_default_quotas(settings)
    _install_middleware(app, settings)

    _install_error_handlers(app)

    app.include_router(health.router)
    app.include_router(workflows.router, prefix="/v1")
    app.include_router(instances.router, prefix="/v1")
    app.include_router(keys.router, prefix="/v1")
    app.include_router(connections.router, prefix="/v1")
    app.include_router(alerts.router, prefix="/v1")
    app.include_router(audit.router, prefix="/v1")
    app.include_router(events.router, prefix="/v1")
    app.include_router(hooks.router, prefix="/v1")
    app.include_router(metric_points.router, prefix="/v1")
    app.include_router(automations.router, prefix="/v1")
    app.include_router(tenants.router, prefix="/v1")
    app.include_router(sessions.router, prefix="/v1")
    install_openapi(app)
    return app


def _install_middleware(app: FastAPI, settings: Settings) -> None:
    # Outermost last: CORS → request context → body guard → idempotency → routing.
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(BodyGuardMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(PrometheusMiddleware, prometheus=app.state.prometheus)
    if settings.cors_origin_list:  # browsers of these origins may call the API (SPEC §3.3)
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origin_list, allow_credentials=False,
                           allow_methods=["GET", "POST", "PATCH", "DELETE"], allow_headers=CORS_HEADERS,
                           expose_headers=CORS_EXPOSED, max_age=600)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def on_api_error(request: Request, error: ApiError):
        return _error(request, error)

    @app.exception_handler(DomainError)
    async def on_refusal(request: Request, error: DomainError):
        return _error(request, api_error(error))

    @app.exception_handler(RPCError)
    async def on_temporal_error(request: Request, error: RPCError):
        return _error(request, api_error(temporal_error(error)))

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, error: RequestValidationError):
        details = [{"path": ".".join(str(p) for p in item["loc"] if p != "body") or "$",
                    "message": pydantic_message(item)} for item in error.errors()]
        return _error(request, ApiError("validation_error", "the request is not valid", details=details))

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, error: StarletteHTTPException):
        if error.status_code == 405:  # with every method the path has, not only its first route's
            return _error(request, ApiError("method_not_allowed", f"{request.method} is not allowed here",
                                            headers={"Allow": ", ".join(allowed_methods(app, request.url.path))}))
        code = {404: "not_found", 413: "payload_too_large"}.get(error.status_code, "validation_error")
        message = "not found" if code == "not_found" else str(error.detail)
        return _error(request, ApiError(code, message))


def _error(request: Request, error: ApiError) -> SafeJSONResponse:
    request_id = getattr(request.state, "request_id", "")
    return SafeJSONResponse(envelope(error.code, error.message, request_id, error.details),
                        status_code=error.status_code, headers=error.headers)
