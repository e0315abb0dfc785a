"""Workflows and their versions: keyword-only, tenant-scoped queries."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.authepoch import Epoch, EpochCache
from app.db.repo.pages import Page, paginate
from app.db.tables import Workflow, WorkflowVersion, core, detached, utcnow

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


# A start reads the workflow as a plain row, not an ORM object, without the two timestamps (parsing them
# is most of the cost of an event candidate): starting a run reads neither.
_COLUMNS = [c for c in core(Workflow).columns
            if c.name not in ("created_at", "updated_at")]
_NAMES = [c.name for c in _COLUMNS]
_WIDTH = len(_NAMES)


def _plain_workflow(row: Any) -> Workflow:
    """A detached Workflow from a row that starts with `_COLUMNS` (created_at/updated_at None: no
    default_factory runs, and nothing that starts a run reads them)."""
    return detached(Workflow, dict(zip(_NAMES, row[:_WIDTH], strict=True), created_at=None, updated_at=None))


def _plain_version(*, id: int | None, tenant_id: str, workflow_id: str, number: int,
                   definition: Any) -> WorkflowVersion:
    """A detached WorkflowVersion with what a start reads of it."""
    return detached(WorkflowVersion, {"id": id, "tenant_id": tenant_id, "workflow_id": workflow_id,
                                      "version_number": number, "definition": definition, "editor_state": None,
                                      "created_at": None, "published_at": None})


# Built once (every trigger reads one): building the join costs about as much CPU as running it.
def _plain_with_version(wanted: Any, *where: Any) -> Any:
    return (select(*_COLUMNS, WorkflowVersion.id, WorkflowVersion.version_number,  # type: ignore[call-overload]
                   WorkflowVersion.definition)
            .join(WorkflowVersion, and_(col(WorkflowVersion.workflow_id) == Workflow.id,
                                        WorkflowVersion.version_number == wanted), isouter=True)
            .where(*where))


_BY_ID = (Workflow.tenant_id == bindparam("tenant_id"), Workflow.id == bindparam("workflow_id"))
_PLAIN_WITH_ACTIVE_VERSION = _plain_with_version(Workflow.active_version, *_BY_ID)
_PLAIN_WITH_VERSION = _plain_with_version(bindparam("number"), *_BY_ID)
_PLAIN_BY_TOKEN = _plain_with_version(Workflow.active_version, col(Workflow.webhook_token) == bindparam("token"))


class WorkflowCache:
    """What starts read of workflows, kept while the cache epoch stands (app/db/authepoch.py
    `EpochCache`: a workflow created, updated, disabled by its owner or its circuit breaker, a
    version published, a workflow or its tenant deleted, by any process, moves it once
    committed): a trigger's workflow + version row (`get_with_version`), a webhook's
    (`hook_with_version`), an event's candidates (`event_candidates`, an empty list too: a new
    workflow moves the epoch) and the version an event's start runs (`version_for_start`). What
    was not found is not kept. Each start still
    gets objects of its own, made from the kept rows (the breaker's trip sets `enabled` on the one
    it holds); a version's definition, which no start writes, is shared. Saves a trigger its first
    statement (with a kept key, its only read): 0.46 ms of its CPU in process, and an event its
    two reads (docs/performance.md section 8, sixth pass)."""

    def __init__(self, epoch: Epoch | None, *, ttl: float = 60.0, max_entries: int = 10_000) -> None:
        self.kept: EpochCache[tuple[Any, ...], Any] = EpochCache(epoch, ttl=ttl, max_entries=max_entries)

    async def read(self, key: tuple[Any, ...], load: Callable[[], Awaitable[Any]]) -> Any:
        """`load()`'s answer, or the one kept under `key` (None is not kept)."""
        if self.kept.epoch is None:
            return await load()
        epoch = self.kept.current()
        found = self.kept.get(key)
        if found is None:
            found = await load()
            if found is not None:
                self.kept.keep(key, found, epoch)
        return found


async def _cached(cache: WorkflowCache | None, key: tuple[Any, ...], load: Callable[[], Awaitable[Any]]) -> Any:
    return await load() if cache is None else await cache.read(key, load)


async def _start_row(session: AsyncSession, params: dict[str, Any]) -> tuple[Any, ...] | None:
    if "token" in params:
        statement = _PLAIN_BY_TOKEN
    else:
        statement = _PLAIN_WITH_ACTIVE_VERSION if "number" not in params else _PLAIN_WITH_VERSION
    found = (await session.exec(statement, params=params)).first()
    return None if found is None else tuple(found)


async def get_with_version(session: AsyncSession, *, tenant_id: str, workflow_id: str,
                           number: int | None = None, cache: WorkflowCache | None = None,
                           ) -> tuple[Workflow | None, WorkflowVersion | None]:
    """The workflow and its version `number` (default: the active one) in one query, as plain rows
    made into detached objects (like `event_candidates`): a start reads them and writes by statement,
    and the ORM's loading of two entities was a fifth of the trigger path's database CPU. With a
    `cache` (and an epoch), the row of an earlier call while nothing changed since."""
    params: dict[str, Any] = {"tenant_id": tenant_id, "workflow_id": workflow_id}
    if number is not None:
        params["number"] = number
    found = await _cached(cache, ("start", tenant_id, workflow_id, number), lambda: _start_row(session, params))
    return _with_version(found)


async def hook_with_version(session: AsyncSession, *, token: str, cache: WorkflowCache | None = None,
                            ) -> tuple[Workflow | None, WorkflowVersion | None]:
    """The workflow a webhook token names (the token is the credential: no tenant to scope by) and
    its active version, as `get_with_version` reads them (a rotated token moves the epoch)."""
    params = {"token": token}
    return _with_version(await _cached(cache, ("hook", token), lambda: _start_row(session, params)))


def _with_version(found: tuple[Any, ...] | None) -> tuple[Workflow | None, WorkflowVersion | None]:
    if found is None:
        return None, None
    workflow = _plain_workflow(found)
    version_id, version_number, definition = found[_WIDTH:]
    if version_id is None:
        return workflow, None
    return workflow, _plain_version(id=version_id, tenant_id=workflow.tenant_id, workflow_id=workflow.id,
                                    number=version_number, definition=definition)


_VERSION_FOR_START = select(WorkflowVersion.id, WorkflowVersion.definition).where(
    WorkflowVersion.tenant_id == bindparam("tenant_id"), WorkflowVersion.workflow_id == bindparam("workflow_id"),
    WorkflowVersion.version_number == bindparam("number"))


async def version_for_start(session: AsyncSession, *, tenant_id: str, workflow_id: str,
                            number: int, cache: WorkflowCache | None = None) -> WorkflowVersion | None:
    """The version a start runs, as a detached object from a plain row (as `get_with_version`'s):
    an event's or a webhook's start reads its definition, nothing writes it."""
    params = {"tenant_id": tenant_id, "workflow_id": workflow_id, "number": number}

    async def load() -> tuple[Any, ...] | None:
        row = (await session.exec(_VERSION_FOR_START, params=params)).first()
        return None if row is None else tuple(row)

    found = await _cached(cache, ("version", tenant_id, workflow_id, number), load)
    if found is None:
        return None
    return _plain_version(id=found[0], tenant_id=tenant_id, workflow_id=workflow_id, number=number,
                          definition=found[1])


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


# Built once: the statement's construction cost more than its execution; only the parameters vary.
_CANDIDATES = (
    select(*_COLUMNS, WorkflowVersion.version_number,  # type: ignore[call-overload]  # (typed up to 4 columns)
           WorkflowVersion.definition["trigger_configuration"], WorkflowVersion.definition["trigger_constraints"])
    .join(WorkflowVersion, and_(col(WorkflowVersion.workflow_id) == Workflow.id,
                                col(WorkflowVersion.tenant_id) == Workflow.tenant_id,
                                col(WorkflowVersion.version_number) == Workflow.active_version))
    .where(Workflow.tenant_id == bindparam("tenant_id"), Workflow.trigger_type == "event",
           col(Workflow.trigger_key).in_(bindparam("keys", expanding=True)),
           col(Workflow.enabled).is_(True))
    .order_by(col(Workflow.created_at), col(Workflow.id)))


async def event_candidates(session: AsyncSession, *, tenant_id: str, keys: list[str],
                           cache: WorkflowCache | None = None,
                           ) -> list[tuple[Workflow, int, dict[str, Any] | None, Any]]:
    """The tenant's enabled event workflows whose trigger key is one of `keys`, oldest first, each with
    its active version's number, trigger_configuration and trigger_constraints (blocks are never read).
    One query on the (tenant_id, trigger_type, trigger_key) index. The workflows are detached, without
    their timestamps: triggering reads them and writes by statement."""

    async def load() -> tuple[tuple[Any, ...], ...]:
        rows = await session.exec(_CANDIDATES, params={"tenant_id": tenant_id, "keys": keys})
        return tuple(tuple(row) for row in rows.all())

    found = []
    for row in await _cached(cache, ("event", tenant_id, *keys), load):
        version, configuration, constraints = row[_WIDTH:]
        found.append((_plain_workflow(row), version, configuration, constraints))
    return found
