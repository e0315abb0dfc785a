"""create_app(): assembles the API (lifespan, middleware, error handlers, routers)."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI
from temporalio.client import Client

from app import tracing
from app.config import Settings, get_settings
from app.cors import RelayCORSMiddleware
from app.db.authepoch import epoch_for
from app.db.migrate import migrate
from app.db.repo.start_rows import WorkflowCache
from app.db.session import make_engine, make_sessionmaker
from app.errors import install_error_handlers
from app.idempotency import IdempotencyMiddleware
from app.logging import configure_logging
from app.middleware import BodyGuardMiddleware, RequestContextMiddleware
from app.openapi import install as install_openapi
from app.prometheus import PROMETHEUS, PrometheusMiddleware
from app.ratelimit import RateLimiter
from app.routers import (
    alerts,
    approvals,
    audit,
    automations,
    connections,
    console,
    events,
    health,
    hooks,
    instances,
    keys,
    metric_points,
    seed_paths,
    sessions,
    tenants,
    workflows,
)
from app.services.keys import AuthCache
from app.services.tenants import use_default_quotas
from app.temporal import connect

log = structlog.get_logger("relay.api")
# What the API reads from a browser's request, and what its answers carry that a page may read.
CORS_HEADERS = ["Authorization", "x-api-key", "Relay-Tenant", "linked_account_id", "Idempotency-Key",
                "Content-Type", "X-Request-ID", "X-Relay-Signature"]
CORS_EXPOSED = ["X-Request-ID", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After",
                "Idempotent-Replayed"]


# How long the API keeps an idle connection open. uvicorn's default (5 s) equals httpx's and many
# clients' pool expiry, so a client reusing a connection just as the server closes it gets a reset
# (seen in the suite under load); load balancers expect the backend to outlast their idle timeout
# (60 s on the common ones).
KEEP_ALIVE_SECONDS = 75


def create_app(settings: Settings | None = None, *, temporal: Client | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings)
    tracing.configure(settings, "relay-api")

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if settings.auto_migrate:
            await asyncio.to_thread(migrate, settings.database_url)
        engine = make_engine(settings.database_url)
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        app.state.temporal = temporal or await connect(settings)
        log.info("api.started", temporal=settings.temporal_address, namespace=settings.temporal_namespace)
        if settings.api_with_worker:
            from activities.outbound import aclose_client
            from worker import build_worker  # `relay api --with-worker`: the worker shares the client

            async with build_worker(app.state.temporal, settings, app.state.sessionmaker):
                log.info("api.worker_started", task_queue=settings.task_queue)
                yield
            await aclose_client()  # the activities' shared outbound HTTP client
        else:
            yield
        await engine.dispose()
        tracing.shutdown()  # uvicorn re-raises SIGTERM after shutdown: no atexit hook would export the last spans

    app = FastAPI(title="Relay", version="1", lifespan=lifespan, telemetry=tracing.FASTAPI_TELEMETRY)
    app.state.settings = settings

    app.state.rate_limiter = RateLimiter(settings)
    app.state.auth_cache = AuthCache(epoch_for(settings.database_url))
    app.state.workflow_cache = WorkflowCache(epoch_for(settings.database_url))
    app.state.prometheus = PROMETHEUS
    use_default_quotas(settings)
    _install_middleware(app, settings)
    if tracing.enabled():  # outermost: the request's span covers every middleware
        app.add_middleware(tracing.TracingMiddleware)

    install_error_handlers(app)
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
    app.include_router(seed_paths.router, prefix="/v1")
    app.include_router(tenants.router, prefix="/v1")
    app.include_router(sessions.router, prefix="/v1")
    app.include_router(approvals.router, prefix="/v1")
    app.include_router(console.router)  # the web console (SPEC §3.5), not in /openapi.json
    install_openapi(app)
    return app


def _install_middleware(app: FastAPI, settings: Settings) -> None:
    # Outermost last: CORS → request context → body guard → idempotency → routing.
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(BodyGuardMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(PrometheusMiddleware, prometheus=app.state.prometheus)
    if settings.cors_origin_list:  # browsers of these origins may call the API (SPEC §3.3)
        app.add_middleware(RelayCORSMiddleware, allow_origins=settings.cors_origin_list, allow_credentials=False,
                           allow_methods=["GET", "POST", "PATCH", "DELETE"], allow_headers=CORS_HEADERS,
                           expose_headers=CORS_EXPOSED, max_age=600)
