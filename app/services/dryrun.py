"""Dry runs (POST /v1/workflows/{id}/test): the real interpreter on the real server, sending nothing.

Actions render their input and return a mock (or what they would have sent); delays are skipped;
a wait_for_event takes its mock as the event, else times out at once. Dry runs are tagged
`RelayTriggerType = "test"`, so they never count in stats, lists or the circuit breaker.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from temporalio.client import Client, WorkflowFailureError

from app.config import Settings
from app.services.errors import InvalidInput
from app import temporal
from workflows.definition import Definition
from workflows.models import RunInput, RunState, TriggerInfo

TIMEOUT_SECONDS = 60


async def dry_run(client: Client, settings: Settings, *, tenant_id: str, workflow_id: str, workflow_name: str,
                  version: int, definition: Definition, trigger: TriggerInfo, mocks: dict[str, Any],
                  tenant_name: str | None = None) -> dict[str, Any]:
    instance_id = f"test_{uuid.uuid4().hex}"
    run = RunInput(tenant_id=tenant_id, tenant_name=tenant_name, instance_id=instance_id, workflow_id=workflow_id, workflow_name=workflow_name,
                   version=version, definition=definition, trigger=trigger, dry_run=True, mocks=mocks)
    handle = await temporal.start_run(client, settings, run, trigger_type="test", result_type=RunState)
    try:
        state = await asyncio.wait_for(handle.result(), TIMEOUT_SECONDS)
    except WorkflowFailureError:
        state = await temporal.run_state(handle)
    except asyncio.TimeoutError:
        await handle.terminate("dry run took too long")
        raise InvalidInput(f"the dry run did not finish within {TIMEOUT_SECONDS} s") from None
    return {"id": instance_id, "status": state.status, "error": state.error, "dry_run": True,
            "steps": [step.model_dump(mode="json") for step in state.steps.values()]}
