"""Tenants managed by a platform key (SPEC §3.3): create, list, read, update, delete; their quotas.

Quotas are stored as the platform key set them (a partial object: `null` = unlimited); a quota it
never set takes the default of RELAY_TENANT_QUOTAS, so changing the setting changes every tenant
that kept the default. `tenant_quotas` is what enforcement reads (branch h16b).

Deleting a tenant first disables it (its keys and sessions answer 401 and its triggers start
nothing from that moment), then deletes its Temporal schedules, cancels its running executions
(instances; threshold watchers are terminated), then removes its rows in one transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from app.config import Settings
from app.db.repo import tenants as tenant_rows
from app.db.tables import Tenant, utcnow
from app.ids import new_id
from app.quotas import QUOTAS, parse_quotas, quota_problems
from app.services import audit, schedules
from app.services.audit import Actor
from app.services.errors import Conflict, InvalidInput, NotFound, temporal_error

log = structlog.get_logger("relay.tenants")
_DEFAULTS: dict[str, int | None] = {name: None for name in QUOTAS}
CANCEL_CONCURRENCY = 20
VISIBILITY_LAG = 0.5  # seconds


def use_default_quotas(settings: Settings) -> None:
    """RELAY_TENANT_QUOTAS becomes every tenant's default (called where the process starts)."""
    _DEFAULTS.update(parse_quotas(settings.tenant_quotas))


def effective_quotas(stored: Mapping[str, Any] | None, defaults: Mapping[str, Any] | None = None) -> dict[str, Any]:
    base = dict(defaults if defaults is not None else _DEFAULTS)
    return {name: (stored or {}).get(name, base.get(name)) for name in QUOTAS}


async def tenant_quotas(session: AsyncSession, *, tenant_id: str,
                        defaults: Mapping[str, Any] | None = None) -> dict[str, int | None]:
    """{"max_running_instances", "max_runs_per_day", "max_workflows"} of the tenant: each a limit or
    None (unlimited). `defaults` overrides RELAY_TENANT_QUOTAS (tests); an unknown tenant has none."""
    row = await tenant_rows.tenant_by_id(session, tenant_id=tenant_id)
    if row is None:
        raise NotFound("tenant")
    return effective_quotas(row.quotas, defaults)


def tenant_view(row: Tenant) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "external_id": row.external_id, "quotas": effective_quotas(row.quotas),
            "disabled": row.disabled, "created_at": row.created_at}


def _checked_quotas(quotas: Any, stored: Mapping[str, Any] | None = None) -> dict[str, Any]:
    problems = quota_problems(quotas, "quotas")
    if problems:
        raise InvalidInput("the quotas are not valid", details=problems)
    return {**(stored or {}), **quotas}


async def get_tenant(session: AsyncSession, *, tenant_id: str) -> Tenant:
    row = await tenant_rows.tenant_by_id(session, tenant_id=tenant_id)
    if row is None:
        raise NotFound("tenant")
    return row


async def create_tenant(session: AsyncSession, *, name: str, external_id: str | None,
                        quotas: dict[str, Any] | None) -> Tenant:
    row = Tenant(id=new_id("ten"), name=name, external_id=external_id,
                 quotas=_checked_quotas(quotas) if quotas is not None else None)
    return await _saved(session, row)


async def update_tenant(session: AsyncSession, *, tenant_id: str, changes: dict[str, Any],
                        actor: Actor | None = None) -> Tenant:
    """PATCH: `name`, `quotas` (merged: a quota not named keeps its value), `disabled`."""
    row = await get_tenant(session, tenant_id=tenant_id)
    if "quotas" in changes:
        row.quotas = _checked_quotas(changes["quotas"], row.quotas)
    if "name" in changes:
        row.name = changes["name"]
    if "disabled" in changes:
        row.disabled = changes["disabled"]
    audit.note(session, actor, "tenant.updated", "tenant", row.id, tenant_id=row.id)  # saved with the change
    return await _saved(session, row)


async def _saved(session: AsyncSession, row: Tenant) -> Tenant:
    row_id, name, external_id = row.id, row.name, row.external_id  # (a rollback expires the row)
    try:
        return await tenant_rows.save_tenant(session, row=row)
    except IntegrityError:
        await session.rollback()
        taken = await tenant_rows.tenant_by_ref(session, ref=external_id) if external_id else None
        field, value = ("external_id", external_id) if taken is not None and taken.id != row_id else ("name", name)
        raise Conflict("duplicate_name", f"a tenant with this {field} exists already",
                       details=[{"path": field, "value": value}]) from None


async def delete_tenant(session: AsyncSession, client: Client, settings: Settings, *, tenant_id: str) -> dict[str, Any]:
    row = await get_tenant(session, tenant_id=tenant_id)
    row.disabled = True  # from now on nothing of it authenticates or starts
    await tenant_rows.save_tenant(session, row=row)
    for workflow in await tenant_rows.workflows_of(session, tenant_id=tenant_id):
        if workflow.trigger_type == "schedule":
            await schedules.delete_schedule(client, workflow=workflow)
    cancelled = await cancel_executions(client, tenant_id=tenant_id)
    await tenant_rows.delete_tenant_rows(session, tenant_id=tenant_id)
    log.info("tenant.deleted", tenant_id=tenant_id, cancelled=cancelled, at=utcnow().isoformat())
    return {"id": tenant_id, "deleted": True, "cancelled_instances": cancelled}


async def cancel_executions(client: Client, *, tenant_id: str) -> int:
    """Cancel every running Temporal execution of the tenant (all its ids start with `<tenant id>:`);
    threshold watchers, which only wait for points, are terminated. Returns how many instances."""
    query = f"WorkflowId STARTS_WITH '{tenant_id}:' AND ExecutionStatus = 'Running'"
    gate = asyncio.Semaphore(CANCEL_CONCURRENCY)

    async def stop(workflow_id: str) -> bool:
        handle = client.get_workflow_handle(workflow_id)
        async with gate:
            try:
                if ":threshold:" in workflow_id:
                    await handle.terminate(reason="tenant deleted")
                    return False
                await handle.cancel()
                return True
            except RPCError as error:
                if error.status == RPCStatusCode.NOT_FOUND:  # it ended meanwhile
                    return False
                raise temporal_error(error) from None

    seen: set[str] = set()
    cancelled = 0
    for attempt in range(2):  # again after a moment: a run started just before may show in visibility late
        try:
            ids = [execution.id async for execution in client.list_workflows(query) if execution.id not in seen]
        except RPCError as error:
            raise temporal_error(error) from None
        seen.update(ids)
        cancelled += sum(await asyncio.gather(*(stop(workflow_id) for workflow_id in ids)))
        if attempt == 0:
            await asyncio.sleep(VISIBILITY_LAG)
    return cancelled
