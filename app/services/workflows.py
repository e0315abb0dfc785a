"""Workflow definitions in the database: keyword-only functions, always tenant-scoped."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, bindparam, func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings
from app.db.tables import Workflow, WorkflowVersion, utcnow
from app.errors import ApiError
from app.ids import new_id, new_token
from workflows import seeds, shorthand
from workflows.definition import Definition
from activities.outbound import url_refusal
from workflows.validation import DefinitionInvalid, ValidationOptions, parse_definition
from workflows.definition import has_control_characters
from workflows.problems import shorten

SETTING_FIELDS = {"enabled", "max_triggers_per_day", "publish", "workflow_editor_state", "rotate_webhook_token"}
DEFINITION_FIELDS = {"trigger_type", "trigger_configuration", "trigger_constraints", "workflow_blocks"}
CAMEL = {"triggerType": "trigger_type", "triggerConfiguration": "trigger_configuration",
         "triggerConstraints": "trigger_constraints", "workflowBlocks": "workflow_blocks",
         "isActive": "enabled", "maxTriggersPerDay": "max_triggers_per_day",
         "workflowEditorState": "workflow_editor_state", "rotateWebhookToken": "rotate_webhook_token"}


def normalise(body: dict[str, Any]) -> dict[str, Any]:
    """camelCase aliases → snake_case, and the shorthand forms and seed spellings of SPEC §2.1
    → canonical (workflows/shorthand.py, workflows/seeds.py; docs/seeds.md)."""
    try:
        if shorthand.is_shorthand(body):
            body = shorthand.to_canonical(body)
        return seeds.canonical_trigger({CAMEL.get(key, key): value for key, value in body.items()})
    except (shorthand.ShorthandError, seeds.SeedTriggerError) as error:
        raise ApiError("validation_error", "the workflow definition is not valid",
                       details=[p.as_detail() for p in error.problems]) from None


def known_fields() -> set[str]:
    """Every top-level field some form of a workflow body knows, once normalised."""
    names = {field.alias or name for name, field in Definition.model_fields.items()} | set(Definition.model_fields)
    return names | SETTING_FIELDS | seeds.IGNORED_FIELDS


def accepted(body: dict[str, Any]) -> dict[str, Any]:
    """A normalised body whose every field some form knows (SPEC §2.1: none is silently dropped),
    without the seed fields Relay accepts and does not keep (seed 002's `slug`)."""
    unknown = sorted(set(body) - known_fields())
    if unknown:
        raise ApiError("validation_error", f"unknown field{'s' if len(unknown) > 1 else ''} "
                       f"{', '.join(map(repr, unknown))}: no form of a workflow body knows "
                       f"{'them' if len(unknown) > 1 else 'it'}",
                       details=[{"path": key, "message": f"unknown field {key!r}"} for key in unknown])
    return {key: value for key, value in body.items() if key not in seeds.IGNORED_FIELDS}


def _nul_at(value: Any, path: str) -> str | None:
    """The path of the first string (or key) holding U+0000 (depth is bounded by the body guard)."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        here = f"{path}.{key}" if path else str(key)
        if "\x00" in str(key):
            return here
        found = _nul_at(item, here)
        if found is not None:
            return found
    return None


def refuse_nul(body: dict[str, Any]) -> None:
    """PostgreSQL text cannot hold U+0000 (a NUL in a description or event pattern was a 500 there)."""
    path = _nul_at(body, "")
    if path is not None:
        raise ApiError("validation_error", "the workflow definition is not valid",
                       details=[{"path": path, "message": "NUL (U+0000) is not allowed in text"}])


def validate(body: dict[str, Any], settings: Settings) -> Definition:
    allow, public_url = settings.outbound_allow_list, settings.public_url
    options = ValidationOptions(url_refusal=lambda url: url_refusal(url, allow, public_url))
    definition_fields = {k: v for k, v in body.items() if k not in SETTING_FIELDS}
    try:
        return parse_definition(definition_fields, options)
    except DefinitionInvalid as error:
        raise ApiError("validation_error", "the workflow definition is not valid",
                       details=[p.as_detail() for p in error.problems]) from None


def _check_settings(body: dict[str, Any]) -> None:
    problems = []

    def refuse(key: str, message: str) -> None:
        problems.append({"path": key, "message": f"{message}; got {shorten(body[key])}"})

    if "enabled" in body and not isinstance(body["enabled"], bool):
        refuse("enabled", "must be true or false")
    limit = body.get("max_triggers_per_day", 100)
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        refuse("max_triggers_per_day", "must be a positive integer or null")
    if "workflow_editor_state" in body and not isinstance(body["workflow_editor_state"], (dict, type(None))):
        refuse("workflow_editor_state", "must be an object")
    for key in ("publish", "rotate_webhook_token"):
        if key in body and not isinstance(body[key], bool):
            refuse(key, "must be true or false")
    if problems:
        raise ApiError("validation_error", "the workflow settings are not valid", details=problems)


async def create_workflow(session: AsyncSession, *, tenant_id: str, body: dict[str, Any],
                          settings: Settings) -> tuple[Workflow, WorkflowVersion]:
    body = accepted(normalise(body))
    definition = validate(body, settings)
    refuse_nul(body)  # after validate: it names a NUL in a name with the name's own message
    _check_settings(body)
    # seed 002: a body with a name and no definition ({"name": "Lead Sync"}) is a draft to build out
    publish = body.get("publish", bool(DEFINITION_FIELDS & body.keys())) is not False
    now = utcnow()
    row = Workflow(
        id=new_id("wf"), tenant_id=tenant_id, name=definition.name, description=definition.description,
        trigger_type=definition.trigger_type, enabled=body.get("enabled", True),
        max_triggers_per_day=body.get("max_triggers_per_day", 100), latest_version=1,
    )
    version = WorkflowVersion(
        tenant_id=tenant_id, workflow_id=row.id, version_number=1,
        definition=definition.model_dump(mode="json", by_alias=True),
        editor_state=body.get("workflow_editor_state"), published_at=now if publish else None,
    )
    if publish:
        activate(row, version)
    try:
        session.add(row)
        await session.flush()
        session.add(version)
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise ApiError("duplicate_name", f"a workflow named {definition.name!r} already exists") from None
    return row, version


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


async def get_workflow(session: AsyncSession, *, tenant_id: str, workflow_id: str) -> Workflow | None:
    statement = select(Workflow).where(Workflow.tenant_id == tenant_id, Workflow.id == workflow_id)
    return (await session.exec(statement)).first()


def _with_version(wanted: Any) -> Any:
    return (select(Workflow, WorkflowVersion)
            .join(WorkflowVersion, and_(WorkflowVersion.workflow_id == Workflow.id,
                                        WorkflowVersion.version_number == wanted), isouter=True)
            .where(Workflow.tenant_id == bindparam("tenant_id"), Workflow.id == bindparam("workflow_id")))


# Built once (every trigger reads one): building the join costs about as much CPU as running it.
_WITH_ACTIVE_VERSION = _with_version(Workflow.active_version)
_WITH_VERSION = _with_version(bindparam("number"))


async def get_with_version(session: AsyncSession, *, tenant_id: str, workflow_id: str,
                           number: int | None = None) -> tuple[Workflow | None, WorkflowVersion | None]:
    """The workflow and its version `number` (default: the active one) in one query."""
    params: dict[str, Any] = {"tenant_id": tenant_id, "workflow_id": workflow_id}
    if number is not None:
        params["number"] = number
    statement = _WITH_ACTIVE_VERSION if number is None else _WITH_VERSION
    found = (await session.exec(statement, params=params)).first()
    return (found[0], found[1]) if found else (None, None)


async def get_version(session: AsyncSession, *, tenant_id: str, workflow_id: str, number: int) -> WorkflowVersion | None:
    statement = select(WorkflowVersion).where(
        WorkflowVersion.tenant_id == tenant_id, WorkflowVersion.workflow_id == workflow_id,
        WorkflowVersion.version_number == number)
    return (await session.exec(statement)).first()


async def list_workflows(session: AsyncSession, *, tenant_id: str, page: int, limit: int,
                         enabled: bool | None = None, trigger_type: str | None = None,
                         q: str | None = None) -> tuple[list[Workflow], int]:
    conditions = [Workflow.tenant_id == tenant_id]
    if enabled is not None:
        conditions.append(Workflow.enabled == enabled)
    if trigger_type:
        conditions.append(Workflow.trigger_type == trigger_type)
    if q:
        conditions.append(func.lower(Workflow.name).contains(q.lower(), autoescape=True))
    total = (await session.exec(select(func.count()).select_from(Workflow).where(*conditions))).one()
    statement = (select(Workflow).where(*conditions).order_by(col(Workflow.created_at).desc(), col(Workflow.id))
                 .offset((page - 1) * limit).limit(limit))
    return list((await session.exec(statement)).all()), int(total)


def without_secrets(definition: dict[str, Any]) -> dict[str, Any]:
    """The definition as the API shows it and as runs carry it: a webhook trigger's signing
    secret is write-only (it stays in the database, where only the hooks endpoint reads it)."""
    config = definition.get("trigger_configuration") or {}
    if "secret" not in config:
        return definition
    return {**definition, "trigger_configuration": {k: v for k, v in config.items() if k != "secret"}}


def secret_set(definition: dict[str, Any]) -> bool:
    return bool((definition.get("trigger_configuration") or {}).get("secret"))


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


async def update_workflow(session: AsyncSession, *, row: Workflow, body: dict[str, Any],
                          settings: Settings) -> tuple[Workflow, WorkflowVersion | None]:
    """PATCH: settings change in place; definition fields make a new version (a draft with publish: false)."""
    body = accepted(normalise(body))
    _check_settings(body)
    now = utcnow()
    new_version = None
    if DEFINITION_FIELDS & body.keys() or "workflow_editor_state" in body:
        latest = await get_version(session, tenant_id=row.tenant_id, workflow_id=row.id, number=row.latest_version)
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
        definition = validate(merged, settings)
        publish = body.get("publish", True) is not False
        row.latest_version += 1
        new_version = WorkflowVersion(
            tenant_id=row.tenant_id, workflow_id=row.id, version_number=row.latest_version,
            definition=definition.model_dump(mode="json", by_alias=True),
            editor_state=body.get("workflow_editor_state", latest.editor_state if latest else None),
            published_at=now if publish else None)
        if publish:
            activate(row, new_version)
        session.add(new_version)
    elif "name" in body or "description" in body:
        probe = {"name": body.get("name", row.name), "description": body.get("description", row.description)}
        _check_name(probe)
    refuse_nul(body)
    if "name" in body:
        row.name = body["name"]
    if "description" in body:
        row.description = body["description"]
    if "max_triggers_per_day" in body:
        row.max_triggers_per_day = body["max_triggers_per_day"]
    if "enabled" in body:
        row.enabled = body["enabled"]
        if row.enabled:
            row.disabled_reason = None  # re-enabling resets the circuit breaker
        elif row.disabled_reason is None:
            row.disabled_reason = "disabled"
    if body.get("rotate_webhook_token") and row.webhook_token is not None:
        row.webhook_token = new_token(24)
    row.updated_at = now
    session.add(row)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise ApiError("duplicate_name", f"a workflow named {body.get('name')!r} already exists") from None
    return row, new_version


def _check_name(probe: dict[str, Any]) -> None:
    name = probe["name"]
    if not isinstance(name, str) or not 1 <= len(name) <= 120 or has_control_characters(name):
        raise ApiError("validation_error", "the workflow settings are not valid",
                       details=[{"path": "name", "message": "must be 1 to 120 characters without control characters "
                                 f"(NUL, CR, LF, …); got {shorten(name)}"}])
    if probe["description"] is not None and not isinstance(probe["description"], str):
        raise ApiError("validation_error", "the workflow settings are not valid",
                       details=[{"path": "description", "message": f"must be a string; got {shorten(probe['description'])}"}])


async def publish_version(session: AsyncSession, *, row: Workflow, number: int | None) -> WorkflowVersion:
    number = number or row.latest_version
    version = await get_version(session, tenant_id=row.tenant_id, workflow_id=row.id, number=number)
    if version is None:
        raise ApiError("not_found", f"version {number} not found")
    if version.published_at is None:
        version.published_at = utcnow()
        session.add(version)
    activate(row, version)
    row.updated_at = utcnow()
    session.add(row)
    await session.commit()
    return version


async def active_versions(session: AsyncSession, *, tenant_id: str,
                          rows: list[Workflow]) -> dict[str, WorkflowVersion]:
    """The shown version (active, else latest) of each workflow of a page, in one query."""
    wanted = [and_(WorkflowVersion.workflow_id == row.id,
                   WorkflowVersion.version_number == (row.active_version or row.latest_version)) for row in rows]
    if not wanted:
        return {}
    statement = select(WorkflowVersion).where(WorkflowVersion.tenant_id == tenant_id, or_(*wanted))
    return {version.workflow_id: version for version in (await session.exec(statement)).all()}


async def list_versions(session: AsyncSession, *, tenant_id: str, workflow_id: str) -> list[WorkflowVersion]:
    statement = (select(WorkflowVersion)
                 .where(WorkflowVersion.tenant_id == tenant_id, WorkflowVersion.workflow_id == workflow_id)
                 .order_by(col(WorkflowVersion.version_number)))
    return list((await session.exec(statement)).all())


async def delete_workflow(session: AsyncSession, *, row: Workflow) -> None:
    """Removes the workflow and its versions; runs already started carry their own snapshot and go on."""
    from sqlmodel import delete

    await session.exec(delete(WorkflowVersion).where(WorkflowVersion.tenant_id == row.tenant_id,
                                                     WorkflowVersion.workflow_id == row.id))
    await session.delete(row)
    await session.commit()


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
