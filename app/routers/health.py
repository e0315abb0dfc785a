"""Liveness and readiness (no authentication)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from app.db.session import ping

router = APIRouter(tags=["health"])


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
        await request.app.state.temporal.service_client.check_health()
        checks["temporal"] = "ok"
    except Exception:  # noqa: BLE001
        checks["temporal"] = "unreachable"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse({"status": "ready" if ready else "not_ready", "checks": checks},
                        status_code=200 if ready else 503)


@router.get("/metrics")
async def prometheus_metrics(request: Request) -> Response:
    body, content_type = request.app.state.prometheus.render()
    return Response(body, media_type=content_type)
