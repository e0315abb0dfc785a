"""fire_threshold: a ThresholdWatcher's crossing starts one run, through the circuit breaker.

    Worker(..., activities=[*ThresholdActivities(settings).list(), ...])

The run is started by `app.services.triggering.start`, the same path as every other trigger, so
`max_triggers_per_day` counts it and a disabled workflow refuses it. The watcher derives the
idempotency key from its id and the crossing's sequence number, so a retried activity finds the
run its first attempt started instead of starting another.

Crossings are rare (once per crossing, not per point), so each call opens its own database
engine and disposes of it: no pool outlives the worker's activities, and none is shared with the
connection store.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.exceptions import ApplicationError

from app.config import Settings
from app.db.session import make_engine, make_sessionmaker
from app.errors import ApiError
from app.services import runs, triggering
from app.services import workflows as store
from app.temporal import temporal_workflow_id
from workflows.threshold import FIRE_ACTIVITY, FireInput, FireResult

RETRYABLE = {"temporal_unavailable", "internal_error", "rate_limited"}


class ThresholdActivities:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @activity.defn(name=FIRE_ACTIVITY)
    async def fire_threshold(self, input: FireInput) -> FireResult:
        client = activity.client()
        engine = make_engine(self.settings.database_url)
        try:
            async with make_sessionmaker(engine)() as session:
                row = await store.get_workflow(session, tenant_id=input.tenant_id, workflow_id=input.workflow_id)
                if row is None:
                    raise ApplicationError("the workflow no longer exists", type="not_found", non_retryable=True)
                if activity.info().attempt > 1:  # the first attempt may have started the run already
                    started = await _started(client, input)
                    if started is not None:
                        return FireResult(instance_id=started)
                instance = await triggering.start(session, client, self.settings, workflow=row,
                                                  trigger=input.trigger, idempotency_key=input.idempotency_key)
        except ApiError as error:
            # A refusal (disabled, circuit breaker, no published version) is an answer, not a fault.
            raise ApplicationError(error.message, type=error.code,
                                   non_retryable=error.code not in RETRYABLE) from None
        finally:
            await engine.dispose()
        activity.logger.info("threshold fired", extra={"tenant_id": input.tenant_id,
                                                       "workflow_id": input.workflow_id,
                                                       "instance_id": instance["id"]})
        return FireResult(instance_id=instance["id"])

    def list(self) -> list[Callable[..., Any]]:
        return [self.fire_threshold]


async def _started(client: Client, input: FireInput) -> str | None:
    """The run an earlier attempt started under this idempotency key, if any."""
    instance_id = runs.instance_id_for(input.idempotency_key)
    try:
        await client.get_workflow_handle(temporal_workflow_id(input.tenant_id, instance_id)).describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    return instance_id
