"""/v1/metrics: metric points for threshold triggers (SPEC §2.2, §3)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Body, Request

from app import views
from app.deps import SessionDep, SettingsDep, TemporalDep, WriteEvents
from app.idempotency import idempotency_key_of
from app.responses import ok
from app.services import metric_points

router = APIRouter(prefix="/metrics", tags=["metrics"])


@router.post("", status_code=202, response_model=views.one(views.PointsAccepted))
async def post_metric_points(request: Request, principal: WriteEvents, session: SessionDep, settings: SettingsDep,
                       temporal: TemporalDep, body: Any = Body(...)):
    """`{"metric", "value", "at"?}` or a list of up to 1000 → 202 `{"accepted", "matched": [workflow ids]}`."""
    points = metric_points.parse_points(body, now=datetime.now(timezone.utc))
    result = await metric_points.record_points(session, temporal, settings, tenant_id=principal.tenant_id, points=points,
                                         idempotency_key=idempotency_key_of(request.scope))
    return ok(request, result, status_code=202)
