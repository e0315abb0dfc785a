"""Fixtures for the action activities: real local receivers, in-memory connections."""

from __future__ import annotations

import pytest

from activities import InMemoryConnectionStore, RelayActivities
from app.config import Settings
from tests.helpers.activities import make_settings
from tests.receivers import HttpReceiver, SmtpReceiver
from worker import activity_settings


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
