"""Workflows and their versions: keyword-only, tenant-scoped queries."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import and_, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.repo.pages import Page, paginate
from app.db.tables import Workflow, WorkflowVersion, utcnow

BeforeCommit = Callable[[], Awaitable[None]] | None


async def insert(session: AsyncSession, *, row: Workflow, version: WorkflowVersion,
                 before_commit: BeforeCommit = None) -> bool:
    """Store a new workflow and its first version; False when the tenant has one of that name.
    `before_commit` runs after the rows are written and before the commit: when it raises, nothing
    is stored (a Temporal Schedule that could not be created leaves no workflow behind)."""
    try:
        session.add(row)
        await session.flush()
        session.add(version)
        await _commit(session, before_commit)
    except IntegrityError:
        await session.rollback()
        return False
    return True


async def save(session: AsyncSession, *, rows: list[Workflow | WorkflowVersion],
               before_commit: BeforeCommit = None) -> bool:
    """Store changed rows in one transaction; False when a unique name or token is taken.
    `before_commit` as for insert: when it raises, the change is rolled back."""
    session.add_all(rows)
    try:
        await _commit(session, before_commit)
    except IntegrityError:
        await session.rollback()
        return False
    return True


async def _commit(session: AsyncSession, before_commit: BeforeCommit) -> None:
    if before_commit is not None:
        await session.flush()  # a duplicate name fails here, before anything outside the database changes
        try:
            await before_commit()
        except BaseException:
            await session.rollback()
            raise
    await session.commit()


async def get_workflow(session: AsyncSession, *, tenant_id: str, workflow_id: str) -> Workflow | None:
    statement = select(Workflow).where(Workflow.tenant_id == tenant_id, Workflow.id == workflow_id)
    return (await session.exec(statement)).first()


async def existing_ids(session: AsyncSession, *, tenant_id: str, ids: set[str]) -> frozenset[str]:
    """Which of `ids` name workflows of the tenant."""
    if not ids:
        return frozenset()
    statement = select(Workflow.id).where(Workflow.tenant_id == tenant_id, col(Workflow.id).in_(sorted(ids)))
    return frozenset((await session.exec(statement)).all())


async def get_version(session: AsyncSession, *, tenant_id: str, workflow_id: str,
                      number: int) -> WorkflowVersion | None:
    statement = select(WorkflowVersion).where(
        WorkflowVersion.tenant_id == tenant_id, WorkflowVersion.workflow_id == workflow_id,
        WorkflowVersion.version_number == number)
    return (await session.exec(statement)).first()


async def page_of_workflows(session: AsyncSession, *, tenant_id: str, page: int, limit: int,
                            enabled: bool | None = None, trigger_type: str | None = None,
                            q: str | None = None) -> Page[Workflow]:
    conditions = [col(Workflow.tenant_id) == tenant_id]
    if enabled is not None:
        conditions.append(col(Workflow.enabled) == enabled)
    if trigger_type:
        conditions.append(col(Workflow.trigger_type) == trigger_type)
    if q:
        conditions.append(func.lower(Workflow.name).contains(q.lower(), autoescape=True))
    return await paginate(session, Workflow, where=conditions, order_by=[col(Workflow.created_at).desc(),
                                                                         col(Workflow.id)], page=page, limit=limit)


async def shown_versions(session: AsyncSession, *, tenant_id: str,
                         rows: list[Workflow]) -> dict[str, WorkflowVersion]:
    """The shown version (active, else latest) of each workflow of a page, in one query."""
    wanted = [and_(col(WorkflowVersion.workflow_id) == row.id,
                   col(WorkflowVersion.version_number) == (row.active_version or row.latest_version)) for row in rows]
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
    """The workflow and its versions."""
    await session.exec(delete(WorkflowVersion).where(col(WorkflowVersion.tenant_id) == row.tenant_id,
                                                     col(WorkflowVersion.workflow_id) == row.id))
    await session.delete(row)
    await session.commit()


async def disable_if_enabled(session: AsyncSession, *, tenant_id: str, workflow_id: str, reason: str) -> bool:
    """Disable the workflow if it is enabled; False when it was not (another request got there first)."""
    result = await session.exec(
        update(Workflow).where(col(Workflow.id) == workflow_id, col(Workflow.tenant_id) == tenant_id,
                               col(Workflow.enabled).is_(True))
        .values(enabled=False, disabled_reason=reason, updated_at=utcnow()))
    await session.commit()
    return result.rowcount == 1


async def watching_metrics(session: AsyncSession, *, tenant_id: str,
                           metrics: set[str]) -> list[tuple[Workflow, WorkflowVersion]]:
    """The tenant's enabled threshold workflows on these metrics, with their active version (one query
    on the (tenant_id, trigger_type, trigger_key) index)."""
    statement = (
        select(Workflow, WorkflowVersion)
        .join(WorkflowVersion, and_(col(WorkflowVersion.tenant_id) == Workflow.tenant_id,
                                    col(WorkflowVersion.workflow_id) == Workflow.id,
                                    col(WorkflowVersion.version_number) == Workflow.active_version))
        .where(Workflow.tenant_id == tenant_id, Workflow.trigger_type == "threshold",
               col(Workflow.trigger_key).in_(sorted(metrics)), col(Workflow.enabled).is_(True))
        .order_by(col(Workflow.id)))
    return list((await session.exec(statement)).all())
