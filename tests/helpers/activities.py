"""Calling the action activities directly: their settings, inputs and the secret placeholder."""

from __future__ import annotations

from typing import Any

from temporalio.testing import ActivityEnvironment

from activities.models import ActionInput, ActionResult
from app.config import Settings

TENANT = "acme"
NONCE = "n0nce"


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "test",
        "outbound_allow": "127.0.0.1/32",
        "outbound_timeout_seconds": 5.0,
        "smtp_host": None,
    }
    values.update(overrides)
    return Settings(**values)


def action(input: dict[str, Any], *, step_id: str = "s1", instance_id: str = "inst_1", depth: int = 0) -> ActionInput:
    return ActionInput(
        tenant_id=TENANT, instance_id=instance_id, step_id=step_id, input=input, secret_nonce=NONCE, depth=depth
    )


def secret(name: str) -> str:
    """The placeholder the workflow puts where `{{secrets.NAME}}` was."""
    return f"\u27e6secret:{NONCE}:{name}\u27e7"


async def run(fn: Any, input: ActionInput) -> ActionResult:
    return await ActivityEnvironment().run(fn, input)
