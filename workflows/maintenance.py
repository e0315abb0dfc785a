"""RelayMaintenance: what the maintenance schedule starts (app/services/maintenance.py): prune, reconcile."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from activities.models import PRUNE_ACTIVITY, RECONCILE_ACTIVITY


@workflow.defn(name="RelayMaintenance")
class RelayMaintenance:
    @workflow.run
    async def run(self) -> dict[str, int]:
        done: dict[str, int] = {}
        for name in (PRUNE_ACTIVITY, RECONCILE_ACTIVITY):
            done |= await workflow.execute_activity(
                name, start_to_close_timeout=timedelta(minutes=10),
                retry_policy=RetryPolicy(maximum_attempts=5), result_type=dict[str, int])
        return done
