"""The `drill` fixture: a Relay of real processes that is always torn down, leaving no process behind."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.faults.harness import Drill


@pytest.fixture
async def drill(tmp_path) -> AsyncIterator[Drill]:
    running = Drill(tmp_path)
    try:
        yield running
    finally:
        await running.close()
        assert running.leftovers() == [], f"processes outlived the drill: {running.leftovers()}"

