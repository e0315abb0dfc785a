"""What starts read of workflows: plain rows (not ORM objects) made into detached objects, kept
in the API's `WorkflowCache` while nothing changes them (app/db/authepoch.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import and_, bindparam
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.authepoch import EpochCache
from app.db.tables import Workflow, WorkflowVersion, core, detached

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


class WorkflowCache(EpochCache[tuple[Any, ...], Any]):
    """What starts read of workflows, kept while the cache epoch stands (app/db/authepoch.py
    `EpochCache`: a workflow created, updated, disabled by its owner or its circuit breaker, a
    version published, a workflow or its tenant deleted, by any process, moves it once
    committed): a trigger's workflow + version row (`get_with_version`), a webhook's
    (`hook_with_version`), an event's candidates (`event_candidates`, an empty list too: a new
    workflow moves the epoch) and the version an event's start runs (`version_for_start`). What
    was not found is not kept, nor a workflow without the version asked for. Each start still
    gets objects of its own, made from the kept rows (the breaker's trip sets `enabled` on the one
    it holds); a version's definition, which no start writes, is shared. Saves a trigger its first
    statement (with a kept key, its only read): 0.46 ms of its CPU in process, and an event its
    two reads (docs/performance.md section 8, sixth pass)."""


async def _cached(cache: WorkflowCache | None, key: tuple[Any, ...], load: Callable[[], Awaitable[Any]],
                  worth_keeping: Callable[[Any], bool] = lambda found: True) -> Any:
    return await load() if cache is None else await cache.read(key, load, worth_keeping)


def _with_its_version(found: tuple[Any, ...]) -> bool:
    # a workflow without the version asked for is not kept: any number may be asked for
    return found[_WIDTH] is not None


async def _start_row(session: AsyncSession, statement: Any, params: dict[str, Any]) -> tuple[Any, ...] | None:
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
    statement = _PLAIN_WITH_ACTIVE_VERSION
    if number is not None:
        params["number"], statement = number, _PLAIN_WITH_VERSION
    found = await _cached(cache, ("start", tenant_id, workflow_id, number),
                          lambda: _start_row(session, statement, params), _with_its_version)
    return _with_version(found)


async def hook_with_version(session: AsyncSession, *, token: str, cache: WorkflowCache | None = None,
                            ) -> tuple[Workflow | None, WorkflowVersion | None]:
    """The workflow a webhook token names (the token is the credential: no tenant to scope by) and
    its active version, as `get_with_version` reads them (a rotated token moves the epoch)."""
    found = await _cached(cache, ("hook", token), lambda: _start_row(session, _PLAIN_BY_TOKEN, {"token": token}),
                          _with_its_version)
    return _with_version(found)


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
    found = await _cached(cache, ("version", tenant_id, workflow_id, number),
                          lambda: _start_row(session, _VERSION_FOR_START, params))
    if found is None:
        return None
    return _plain_version(id=found[0], tenant_id=tenant_id, workflow_id=workflow_id, number=number,
                          definition=found[1])


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


def candidate_keys(event_type: str) -> list[str]:
    """Every trigger_key a pattern matching `event_type` can have: "" and each dot-prefix."""
    keys = [""]
    for i, ch in enumerate(event_type):
        if ch == ".":
            keys.append(event_type[: i + 1])
    keys.append(event_type)
    return keys


async def event_candidates(session: AsyncSession, *, tenant_id: str, event: str, cache: WorkflowCache | None = None,
                           ) -> list[tuple[Workflow, int, dict[str, Any] | None, Any]]:
    """The tenant's enabled event workflows whose pattern may match `event` (their trigger key is
    one of its `candidate_keys`), oldest first, each with its active version's number,
    trigger_configuration and trigger_constraints (blocks are never read). One query on the
    (tenant_id, trigger_type, trigger_key) index. The workflows are detached, without their
    timestamps: triggering reads them and writes by statement."""

    async def load() -> tuple[tuple[Any, ...], ...]:
        rows = await session.exec(_CANDIDATES, params={"tenant_id": tenant_id, "keys": candidate_keys(event)})
        return tuple(tuple(row) for row in rows.all())

    found = []
    for row in await _cached(cache, ("event", tenant_id, event), load):
        version, configuration, constraints = row[_WIDTH:]
        found.append((_plain_workflow(row), version, configuration, constraints))
    return found
