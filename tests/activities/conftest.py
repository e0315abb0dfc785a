"""Fixtures for the action activities: real local receivers, in-memory connections."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.testing import ActivityEnvironment

from activities import InMemoryConnectionStore, RelayActivities
from activities.models import ActionInput, ActionResult
from app.config import Settings
from tests.receivers import HttpReceiver, SmtpReceiver
from worker import activity_settings

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


@pytest.fixture
def store() -> InMemoryConnectionStore:
    return InMemoryConnectionStore()


@pytest.fixture
def settings() -> Settings:
    return make_settings()


@pytest.fixture
def relay(settings: Settings, store: InMemoryConnectionStore) -> RelayActivities:
    return RelayActivities(activity_settings(settings), store)


@pytest.fixture
async def receiver():
    async with HttpReceiver() as r:
        yield r


@pytest.fixture
async def smtp():
    async with SmtpReceiver() as s:
        yield s


async def run(fn: Any, input: ActionInput) -> ActionResult:
    return await ActivityEnvironment().run(fn, input)
