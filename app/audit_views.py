"""What GET /v1/audit answers (SPEC §3.3): one entry per change (app/views.py's way)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from app.views import View


class AuditActor(View):
    type: Literal["key", "session", "platform"]
    id: str  # the key's, the session's or the platform key's id (never the key or token)
    subject: str | None  # a session's subject


class AuditResource(View):
    type: str
    id: str


class AuditEntryView(View):
    id: str
    at: datetime
    actor: AuditActor
    action: str
    resource: AuditResource
    request_id: str | None
