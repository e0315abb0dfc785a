"""RelayMaintenance: what the maintenance schedule starts (app/services/maintenance.py) — one activity."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from activities.models import PRUNE_ACTIVITY


@workflow.defn(name="RelayMaintenance")
class RelayMaintenance:
    @workflow.run
    async def run(self) -> dict[str, int]:
        return await workflow.execute_activity(
            PRUNE_ACTIVITY, start_to_close_timeout=timedelta(minutes=10),
            retry_policy=RetryPolicy(maximum_attempts=5), result_type=dict[str, int])
