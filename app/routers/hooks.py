"""/v1/hooks/{token}: the webhook trigger (SPEC §2.2). The unguessable token is the credential.

What the run sees as `trigger.data`: the JSON body when it is an object (so `{{trigger.data.x}}`
and `{{x}}` work as for events); any other body as `{"body": <JSON value or text>}`. The request
around it is under the reserved key `_request`: `{"method", "headers", "query"}`, headers
lower-cased and without credentials (authorization, cookie, the signature).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request

from app import views
from app.db.repo import start_rows
from app.deps import SessionDep, SettingsDep, TemporalDep
from app.errors import ApiError
from app.idempotency import idempotency_key_of
from app.responses import ok
from app.services import events, triggering
from app.services.errors import NotFound
from relay_common import signing
from workflows.models import TriggerInfo

router = APIRouter(prefix="/hooks", tags=["hooks"])

HIDDEN_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-relay-signature", "x-api-key"})
REQUEST_KEY = "_request"


def trigger_data(request: Request, raw: bytes) -> dict[str, Any]:
    body: Any
    state = request.scope.get("state", {})
    if not raw.strip():
        body = {}
    elif "json_body" in state:  # parsed (strictly) once, by the body guard
        body = state["json_body"]
    else:
        body = raw.decode("utf-8", errors="replace")
    data = dict(body) if isinstance(body, dict) else {"body": body}
    headers: dict[str, str] = {}
    for name, value in request.headers.items():  # repeated headers are joined, as HTTP allows
        if name not in HIDDEN_HEADERS:
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
    data[REQUEST_KEY] = {"method": request.method, "headers": headers, "query": dict(request.query_params)}
    return data


@router.post("/{token}", status_code=202, response_model=views.one(views.HookAccepted))
async def receive_hook(request: Request, token: str, session: SessionDep, settings: SettingsDep,
                       temporal: TemporalDep):
    row = version = None
    if len(token) <= 64:
        row, version = await start_rows.hook_with_version(session, token=token,
                                                          cache=request.app.state.workflow_cache)
    if row is None or row.trigger_type != "webhook" or version is None:
        raise NotFound("webhook")
    raw: bytes = getattr(request.state, "raw_body", None) or await request.body()
    secret = (version.definition.get("trigger_configuration") or {}).get("secret")
    if secret and not signing.verify(secret, request.headers.get(signing.HEADER), raw, now=time.time()):
        raise ApiError("invalid_key", "missing or bad signature")
    depth = events.depth_of(request.headers.get("x-relay-depth"))
    trigger = TriggerInfo(type="webhook", data=trigger_data(request, raw), received_at=datetime.now(UTC))
    instance = await triggering.start(session, temporal, settings, workflow=row, trigger=trigger,
                                      version_number=version.version_number, version=version, depth=depth,
                                      idempotency_key=idempotency_key_of(request.scope))
    return ok(request, {"instance_id": instance["id"]}, status_code=202)
