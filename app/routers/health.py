"""Liveness and readiness (no authentication)."""

from __future__ import annotations

from datetime import timedelta

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from app.db.session import ping

router = APIRouter(tags=["health"])
log = structlog.get_logger("relay.api")
HEALTH_TIMEOUT_SECONDS = 3.0


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        await ping(request.app.state.engine)
        checks["database"] = "ok"
    except Exception:  # noqa: BLE001 - any failure means not ready
        checks["database"] = "unreachable"
    try:
        # retried within a bound: one transient gRPC error on a busy server is no reason to take the
        # API out of rotation (a fuzz run under load saw exactly that once); False is "not serving"
        serving = await request.app.state.temporal.service_client.check_health(
            retry=True, timeout=timedelta(seconds=HEALTH_TIMEOUT_SECONDS))
        checks["temporal"] = "ok" if serving else "not_serving"
    except Exception as error:  # noqa: BLE001
        log.warning("readyz.temporal_unreachable", error=type(error).__name__)
        checks["temporal"] = "unreachable"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse({"status": "ready" if ready else "not_ready", "checks": checks},
                        status_code=200 if ready else 503)


@router.get("/metrics")
async def prometheus_metrics(request: Request) -> Response:
    body, content_type = request.app.state.prometheus.render()
    return Response(body, media_type=content_type)
