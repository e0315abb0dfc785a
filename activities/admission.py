"""admit_scheduled_run: a scheduled run asks the circuit breaker (SPEC §3.1) for its slot.

API-started runs take their slot in `triggering.start` before Temporal hears of them; a
Temporal Schedule starts runs on its own, so the interpreter's first step calls this activity.
It refuses runs of deleted or disabled workflows, counts the run otherwise, and trips the
breaker (disable, alert, pause the schedule) when the day's
limit is reached.

Retries: once the slot is counted the activity heartbeats "slot_taken", and a retried attempt
that finds that detail does not count again. The window left (a crash after the commit and
before the heartbeat reached Temporal; or a server that drops heartbeat details on activity
failure, as the dev server warns it may) can count one run twice: the count is at-least-once,
a run is never started twice. Exactly-once would need a table of admitted run ids (a migration).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool
from temporalio import activity

from activities.models import AdmitInput, AdmitResult
from app.config import Settings
from app.db.session import async_url, make_sessionmaker
from app.services import triggering
from app.services import workflows as store

SLOT_TAKEN = "slot_taken"


class AdmissionActivities:
    """The admission activity, with its own database engine on `settings.database_url`.

    The engine does not pool (NullPool): scheduled runs are infrequent, and a pool nobody
    disposes would keep SQLite connection threads alive past the worker's shutdown.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engine: AsyncEngine | None = None

    def _sessionmaker(self):
        if self._engine is None:
            url = async_url(self.settings.database_url)
            connect_args = {"timeout": 30} if url.startswith("sqlite") else {}
            self._engine = create_async_engine(url, poolclass=NullPool, connect_args=connect_args)
        return make_sessionmaker(self._engine)

    @activity.defn(name="admit_scheduled_run")
    async def admit_scheduled_run(self, input: AdmitInput) -> AdmitResult:
        if SLOT_TAKEN in activity.info().heartbeat_details:
            return AdmitResult(allowed=True)  # an earlier attempt counted this run
        async with self._sessionmaker()() as session:
            row = await store.get_workflow(session, tenant_id=input.tenant_id, workflow_id=input.workflow_id)
            if row is None:
                return AdmitResult(allowed=False, reason="the workflow was deleted")
            if not row.enabled:
                return AdmitResult(allowed=False, reason=f"the workflow is disabled ({row.disabled_reason or 'disabled'})")
            if await triggering.take_slot(session, workflow=row):
                activity.heartbeat(SLOT_TAKEN)
                return AdmitResult(allowed=True)
            await triggering.trip(session, activity.client(), self.settings, workflow=row)
        activity.logger.info("scheduled run refused by the circuit breaker",
                             extra={"tenant_id": input.tenant_id, "workflow_id": input.workflow_id})
        return AdmitResult(allowed=False, reason=f"circuit_breaker: max_triggers_per_day "
                                                 f"({row.max_triggers_per_day}) reached")

    def list(self) -> list:
        return [self.admit_scheduled_run]
