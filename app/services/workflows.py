"""Workflows: create, change, publish, and how the API shows them (queries: app/db/repo/workflows.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings
from app.db.repo import workflows as workflow_rows
from app.db.tables import Workflow, WorkflowVersion, utcnow
from app.db.writer import one_writer
from app.ids import new_id, new_token
from app.services import audit, quotas
from app.services.audit import Actor
from app.services.definitions import (
    DEFINITION_FIELDS,
    accepted,
    called_workflow_ids,
    check_name,
    check_settings,
    normalise,
    refuse_nul,
    reported_as_written,
    secret_set,
    validate,
    without_secrets,
)
from app.services.errors import Conflict, InvalidInput, NotFound
from app.services.tenants import tenant_quotas
from workflows.problems import shorten

Sync = Callable[[Workflow], Awaitable[None]] | None  # makes Temporal follow the row before it commits


async def create_workflow(session: AsyncSession, *, tenant_id: str, body: dict[str, Any],
                          settings: Settings, actor: Actor | None = None,
                          sync: Sync = None) -> tuple[Workflow, WorkflowVersion]:
    original, body = body, accepted(normalise(body))
    with reported_as_written(original):
        definition = validate(body, settings, await _known(session, tenant_id, body))
        refuse_nul(body)  # after validate: it names a NUL in a name with the name's own message
        check_settings(body)
        await _check_failure_workflow(session, tenant_id, body)
    # seed 002: a body with a name and no definition ({"name": "Lead Sync"}) is a draft to build out
    publish = body.get("publish", bool(DEFINITION_FIELDS & body.keys())) is not False
    now = utcnow()
    row = Workflow(
        id=new_id("wf"), tenant_id=tenant_id, name=definition.name, description=definition.description,
        trigger_type=definition.trigger_type, enabled=body.get("enabled", True),
        max_triggers_per_day=body.get("max_triggers_per_day", 100), latest_version=1,
        on_failure_workflow_id=body.get("on_failure_workflow_id"),
    )
    version = WorkflowVersion(
        tenant_id=tenant_id, workflow_id=row.id, version_number=1,
        definition=definition.model_dump(mode="json", by_alias=True),
        editor_state=body.get("workflow_editor_state"), published_at=now if publish else None,
    )
    if publish:
        activate(row, version)
    limit = (await tenant_quotas(session, tenant_id=tenant_id))[quotas.WORKFLOWS]
    async with one_writer(session) if limit is not None else contextlib.nullcontext():
        if limit is not None:
            try:
                await quotas.refuse_beyond_workflows(session, tenant_id=tenant_id, limit=limit)
            except quotas.QuotaExceeded:
                await session.rollback()  # ends the transaction that holds the tenant's lock
                raise
        audit.note(session, actor, "workflow.created", "workflow", row.id)  # written by insert's commit
        if not await workflow_rows.insert(session, row=row, version=version, before_commit=_before(sync, row)):
            raise Conflict("duplicate_name", f"a workflow named {definition.name!r} already exists")
    return row, version


async def _known(session: AsyncSession, tenant_id: str, body: dict[str, Any]) -> frozenset[str]:
    """The workflows of the tenant that the body's call_workflow blocks name (SPEC §2.4)."""
    return await workflow_rows.existing_ids(session, tenant_id=tenant_id, ids=called_workflow_ids(body))


async def _check_failure_workflow(session: AsyncSession, tenant_id: str, body: dict[str, Any]) -> None:
    target = body.get("on_failure_workflow_id")
    if target is not None and not await workflow_rows.existing_ids(session, tenant_id=tenant_id, ids={target}):
        raise InvalidInput("the workflow settings are not valid", details=[{
            "path": "on_failure_workflow_id", "message": f"no workflow of this tenant has the id {shorten(target)}"}])


def activate(row: Workflow, version: WorkflowVersion) -> None:
    """Make `version` the one new runs use; the row's trigger columns follow the active definition."""
    definition = version.definition
    row.active_version = version.version_number
    row.trigger_type = definition.get("trigger_type", "manual")
    row.trigger_key = trigger_key_for(definition)
    if row.trigger_type == "webhook" and row.webhook_token is None:
        row.webhook_token = new_token(24)


def trigger_key_for(definition: dict[str, Any]) -> str | None:
    """Event triggers: the event name up to its first glob, cut back to a dot boundary
    ("deal.*" → "deal.", "deal.updated" → "deal.updated", "*" → ""); thresholds: the metric."""
    config = definition.get("trigger_configuration") or {}
    if definition.get("trigger_type") == "threshold":
        return config.get("metric")
    if definition.get("trigger_type") != "event":
        return None
    pattern = str(config.get("event", ""))
    glob = min((i for i, ch in enumerate(pattern) if ch in "*?["), default=None)
    if glob is None:
        return pattern
    return pattern[: pattern.rfind(".", 0, glob) + 1]


def workflow_view(row: Workflow, version: WorkflowVersion | None, settings: Settings,
                  stats: dict[str, Any] | None = None) -> dict[str, Any]:
    definition = without_secrets(dict(version.definition)) if version else {}
    definition.pop("name", None)
    definition.pop("description", None)
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        **definition,
        "enabled": row.enabled,
        # seed 001's names: the id grouping all versions, and whether this version is the one that runs
        "workflow_id": row.id,
        "is_active": bool(row.enabled and version is not None and version.version_number == row.active_version),
        "max_triggers_per_day": row.max_triggers_per_day,
        "on_failure_workflow_id": row.on_failure_workflow_id,
        "version_number": version.version_number if version else None,
        "active_version": row.active_version,
        "latest_version": row.latest_version,
        "webhook_url": f"{settings.public_url.rstrip('/')}/v1/hooks/{row.webhook_token}" if row.webhook_token else None,
        "webhook_secret_set": secret_set(version.definition) if version else False,
        "disabled_reason": row.disabled_reason,
        "workflow_editor_state": version.editor_state if version else None,
        "stats": stats,
        "last_triggered_at": (stats or {}).get("last_triggered_at"),
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


async def update_workflow(session: AsyncSession, *, row: Workflow, body: dict[str, Any], settings: Settings,
                          actor: Actor | None = None, sync: Sync = None) -> tuple[Workflow, WorkflowVersion | None]:
    """PATCH: settings change in place; definition fields make a new version (a draft with publish: false)."""
    original, body = body, accepted(normalise(body))
    with reported_as_written(original):
        check_settings(body)
        await _check_failure_workflow(session, row.tenant_id, body)
    now = utcnow()
    new_version = None
    if DEFINITION_FIELDS & body.keys() or "workflow_editor_state" in body:
        latest = await workflow_rows.get_version(session, tenant_id=row.tenant_id, workflow_id=row.id,
                                                 number=row.latest_version)
        merged = {**(latest.definition if latest else {}), "name": body.get("name", row.name),
                  "description": body.get("description", row.description)}
        merged.update({k: v for k, v in body.items() if k in DEFINITION_FIELDS})
        previous_secret = ((latest.definition if latest else {}).get("trigger_configuration") or {}).get("secret")
        new_config = body.get("trigger_configuration")
        if (previous_secret and isinstance(new_config, dict) and "secret" not in new_config
                and merged.get("trigger_type") == "webhook"):
            # the API never shows the secret, so a definition sent back without it keeps it;
            # "secret": null removes it
            merged["trigger_configuration"] = {**new_config, "secret": previous_secret}
        with reported_as_written(original):
            definition = validate(merged, settings, await _known(session, row.tenant_id, merged))
        publish = body.get("publish", True) is not False
        row.latest_version += 1
        new_version = WorkflowVersion(
            tenant_id=row.tenant_id, workflow_id=row.id, version_number=row.latest_version,
            definition=definition.model_dump(mode="json", by_alias=True),
            editor_state=body.get("workflow_editor_state", latest.editor_state if latest else None),
            published_at=now if publish else None)
        if publish:
            activate(row, new_version)
    elif "name" in body or "description" in body:
        probe = {"name": body.get("name", row.name), "description": body.get("description", row.description)}
        check_name(probe)
    with reported_as_written(original):
        refuse_nul(body)
    if "name" in body:
        row.name = body["name"]
    if "description" in body:
        row.description = body["description"]
    if "max_triggers_per_day" in body:
        row.max_triggers_per_day = body["max_triggers_per_day"]
    if "on_failure_workflow_id" in body:
        row.on_failure_workflow_id = body["on_failure_workflow_id"]
    if "enabled" in body:
        row.enabled = body["enabled"]
        if row.enabled:
            row.disabled_reason = None  # re-enabling resets the circuit breaker
        elif row.disabled_reason is None:
            row.disabled_reason = "disabled"
    if body.get("rotate_webhook_token") and row.webhook_token is not None:
        row.webhook_token = new_token(24)
    row.updated_at = now
    audit.note(session, actor, "workflow.updated", "workflow", row.id)  # saved with the change
    if not await workflow_rows.save(session, rows=[row] if new_version is None else [new_version, row],
                                    before_commit=_before(sync, row)):
        raise Conflict("duplicate_name", f"a workflow named {body.get('name')!r} already exists")
    return row, new_version


async def publish_version(session: AsyncSession, *, row: Workflow, number: int | None,
                          actor: Actor | None = None, sync: Sync = None) -> WorkflowVersion:
    number = number or row.latest_version
    version = await workflow_rows.get_version(session, tenant_id=row.tenant_id, workflow_id=row.id, number=number)
    if version is None:
        raise NotFound("version", f"version {number} not found")
    if version.published_at is None:
        version.published_at = utcnow()
    activate(row, version)
    row.updated_at = utcnow()
    audit.note(session, actor, "workflow.published", "workflow", row.id)  # saved with the change
    await workflow_rows.save(session, rows=[version, row], before_commit=_before(sync, row))
    return version


def _before(sync: Sync, row: Workflow) -> Callable[[], Awaitable[None]] | None:
    if sync is None:
        return None
    return lambda: sync(row)


def version_view(row: Workflow, version: WorkflowVersion) -> dict[str, Any]:
    return {
        "workflow_id": row.id,
        "version_number": version.version_number,
        "active": row.active_version == version.version_number,
        "definition": without_secrets(version.definition),
        "webhook_secret_set": secret_set(version.definition),
        "workflow_editor_state": version.editor_state,
        "created_at": version.created_at,
        "published_at": version.published_at,
    }
