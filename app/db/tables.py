"""SQLModel tables. Every table has a tenant column; every query filters on it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import JSON, Column, Index, Table, UniqueConstraint, text
from sqlalchemy.orm import configure_mappers
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


Model = TypeVar("Model", bound=SQLModel)
_mappers_configured = False


def detached(model: type[Model], values: dict[str, Any]) -> Model:
    """A row of `model` made as SQLAlchemy's loading makes one (the class's instance with its state,
    the values set in its __dict__), not by the model's __init__, which computes defaults and fires
    an attribute event per field: 1.6 µs against 33 µs for a Workflow. For rows read as plain
    columns on the hot path; `values` must hold every field that is read."""
    global _mappers_configured
    if not _mappers_configured:  # (a query configures them; without one, setting an attribute would fail)
        configure_mappers()
        _mappers_configured = True
    row = model._sa_class_manager.new_instance()  # type: ignore[attr-defined]  # (set by SQLAlchemy's mapping)
    row.__dict__.update(values)
    object.__setattr__(row, "__pydantic_fields_set__", set(values))
    assert isinstance(row, model)
    return row


def core(model: type[SQLModel]) -> Table:
    """A table model's Core table. The hot path's upserts are built on it: on the ORM entity, an
    insert takes SQLAlchemy's bulk-persistence path, which builds a cache key from the VALUES
    on every call (a quarter of the statement's CPU, docs/performance.md)."""
    table = model.__table__  # type: ignore[attr-defined]  # (sqlmodel leaves it untyped)
    assert isinstance(table, Table)
    return table


class Tenant(SQLModel, table=True):
    __tablename__ = "tenants"
    id: str = Field(primary_key=True, max_length=40)
    name: str = Field(unique=True, index=True, max_length=120)
    external_id: str | None = Field(default=None, unique=True, index=True, max_length=200)
    # What the platform key set (SPEC §3.3): quota name -> limit or None (unlimited); a quota not
    # set here takes RELAY_TENANT_QUOTAS's default (app/services/tenants.py tenant_quotas).
    quotas: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    disabled: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"
    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str | None = Field(default=None, foreign_key="tenants.id", index=True, max_length=40)  # None: platform
    platform: bool = False
    name: str = Field(default="", max_length=120)
    prefix: str = Field(max_length=16)
    key_hash: str = Field(unique=True, index=True, max_length=64)
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None


class SessionToken(SQLModel, table=True):
    """A short-lived token of one tenant for a host product's browser code (SPEC §3.3); only its hash."""

    __tablename__ = "sessions"
    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=40)
    token_hash: str = Field(unique=True, index=True, max_length=64)
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    subject: str | None = Field(default=None, max_length=200)
    created_by: str = Field(max_length=40)  # the key (or platform key) that minted it
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime


class Workflow(SQLModel, table=True):
    __tablename__ = "workflows"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_workflows_tenant_name"),
                      Index("ix_workflows_trigger_lookup", "tenant_id", "trigger_type", "trigger_key"))
    id: str = Field(primary_key=True, max_length=40)
    # no index of its own: the two indexes above lead with tenant_id (migration 0005)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=40)
    name: str = Field(max_length=120)
    description: str | None = None
    trigger_type: str = Field(max_length=20)
    enabled: bool = True
    max_triggers_per_day: int | None = None  # the API sets 100 by default; None means unlimited
    active_version: int | None = None
    latest_version: int = 1
    webhook_token: str | None = Field(default=None, unique=True, max_length=64)
    disabled_reason: str | None = Field(default=None, max_length=40)
    # What finds this workflow fast: the event-name prefix up to its first glob (cut at a dot)
    # for event triggers, the metric name for threshold triggers (see app/services/events.py).
    trigger_key: str | None = Field(default=None, max_length=200)
    on_failure_workflow_id: str | None = Field(default=None, max_length=40)  # SPEC §3.4
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class WorkflowVersion(SQLModel, table=True):
    __tablename__ = "workflow_versions"
    __table_args__ = (UniqueConstraint("workflow_id", "version_number", name="uq_versions_workflow_number"),)
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=40)
    workflow_id: str = Field(foreign_key="workflows.id", index=True, max_length=40)
    version_number: int
    definition: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    editor_state: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(default_factory=utcnow)
    published_at: datetime | None = None


class Connection(SQLModel, table=True):
    """A tenant's credential for an outside system; secrets only as a Fernet token."""

    __tablename__ = "connections"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name", name="uq_connections_tenant_name"),
        # at most one default per tenant and type, also when two requests race to set one
        Index("uq_connections_one_default", "tenant_id", "type", unique=True,
              sqlite_where=text("is_default"), postgresql_where=text("is_default")),
    )
    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=40)
    name: str = Field(max_length=120)
    type: str = Field(max_length=20)
    config: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    secret_names: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    secrets_encrypted: str = Field(default="")
    is_default: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class IdempotencyRecord(SQLModel, table=True):
    """One Idempotency-Key of one tenant: the request's fingerprint and, once done, its response."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("tenant_id", "idempotency_key", name="uq_idempotency_tenant_key"),)
    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(index=True, max_length=40)
    idempotency_key: str = Field(max_length=255)
    request_hash: str = Field(max_length=64)
    state: str = Field(default="in_progress", max_length=16)
    response_status: int | None = None
    response_body: str | None = None
    response_headers: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, index=True)


class TriggerCounter(SQLModel, table=True):
    """Runs started per workflow per UTC day: the circuit breaker's exact count (SPEC §3.1)."""

    __tablename__ = "trigger_counters"
    workflow_id: str = Field(primary_key=True, max_length=40)
    day: str = Field(primary_key=True, max_length=10)
    tenant_id: str = Field(index=True, max_length=40)
    count: int = 0


class Alert(SQLModel, table=True):
    __tablename__ = "alerts"
    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(index=True, max_length=40)
    workflow_id: str | None = Field(default=None, max_length=40)
    kind: str = Field(max_length=40)
    message: str
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    delivered: bool = False
    created_at: datetime = Field(default_factory=utcnow, index=True)


class TenantRunCounter(SQLModel, table=True):
    """Runs started per tenant per UTC day: the `max_runs_per_day` quota's exact count (SPEC §3.3)."""

    __tablename__ = "tenant_run_counters"
    tenant_id: str = Field(primary_key=True, max_length=40)
    day: str = Field(primary_key=True, max_length=10)
    count: int = 0


class TenantRunning(SQLModel, table=True):
    """How many `running_slots` the tenant holds: the `max_running_instances` quota's counter.
    Kept equal to the tenant's slot rows (both change in one transaction); see docs/decisions.md."""

    __tablename__ = "tenant_running"
    tenant_id: str = Field(primary_key=True, max_length=40)
    count: int = 0


class RunningSlot(SQLModel, table=True):
    """One run counted against `max_running_instances`, by its Temporal workflow id; freed when
    Temporal says the run has closed (app/services/quotas.py `reconcile`)."""

    __tablename__ = "running_slots"
    temporal_id: str = Field(primary_key=True, max_length=200)
    tenant_id: str = Field(index=True, max_length=40)
    taken_at: datetime = Field(default_factory=utcnow)


class AuditEntry(SQLModel, table=True):
    """One change of a tenant's (SPEC §3.3 audit log): who, what, which resource, which request.
    Never a secret or a token: only ids, the action's name and the actor's subject."""

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_tenant_at", "tenant_id", "at"),)
    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(max_length=40)
    at: datetime = Field(default_factory=utcnow)
    actor_type: str = Field(max_length=16)
    actor_id: str = Field(max_length=40)
    actor_subject: str | None = Field(default=None, max_length=200)
    action: str = Field(max_length=40)
    resource_type: str = Field(max_length=40)
    resource_id: str = Field(max_length=200)
    request_id: str | None = Field(default=None, max_length=80)
