"""What the embedding endpoints answer (SPEC §3.3): tenants and session tokens (app/views.py's way)."""

from __future__ import annotations

from datetime import datetime

from app.views import Deleted, View


class Quotas(View):
    max_running_instances: int | None
    max_runs_per_day: int | None
    max_workflows: int | None


class TenantView(View):
    id: str
    name: str
    external_id: str | None
    quotas: Quotas  # in force: what the platform key set over RELAY_TENANT_QUOTAS's defaults
    disabled: bool
    created_at: datetime


class TenantDeleted(Deleted):
    cancelled_instances: int


class SessionView(View):
    id: str
    tenant_id: str
    scopes: list[str]
    subject: str | None
    created_at: datetime
    expires_at: datetime


class SessionCreated(SessionView):
    token: str  # shown once
