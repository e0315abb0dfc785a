"""Shared fixtures: the real Temporal dev server, databases, the API on a loopback port, a worker."""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from app.devserver import free_port
from app.temporal import SEARCH_ATTRIBUTES
from tests.helpers.relay import Relay, relay_settings, sqlite_url, start_relay

BIN = Path(sys.executable).parent


def _binary(name: str) -> str:
    found = BIN / name
    path = str(found) if found.exists() else shutil.which(name)
    assert path, f"{name} is not installed (pip install -e '.[dev]')"
    return path


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    args: list[str] = []
    for name, kind in SEARCH_ATTRIBUTES.items():
        args += ["--search-attribute", f"{name}={kind}"]
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=_binary("temporal"), data_converter=pydantic_data_converter,
        dev_server_extra_args=args, dev_server_log_level="error",
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=_binary("temporal-test-server"), data_converter=pydantic_data_converter)
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def postgres_url() -> Any:
    """A fresh PostgreSQL database for this session (RELAY_TEST_DATABASE_URL), dropped at the end."""
    base = os.environ.get("RELAY_TEST_DATABASE_URL")
    if not base:
        yield None
        return
    import psycopg

    name = f"relay_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    yield base.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def redis_url() -> Any:
    """RELAY_TEST_REDIS_URL, else a redis-server of this session on a free loopback port; without
    either the test is skipped on a laptop and fails in CI (CI=true), which must run it."""
    given = os.environ.get("RELAY_TEST_REDIS_URL")
    if given:
        yield given
        return
    binary = shutil.which("redis-server")
    if binary is None:
        reason = "no redis-server on PATH (Debian: apt-get install redis-server) and no RELAY_TEST_REDIS_URL"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    import socket
    import subprocess
    import time

    port = free_port()
    server = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"redis-server did not start on port {port}")
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    server.terminate()
    server.wait(10)


def database_params() -> list[Any]:
    params = [pytest.param("sqlite", id="sqlite")]
    if os.environ.get("RELAY_TEST_DATABASE_URL"):
        params.append(pytest.param("postgresql", id="postgresql"))
    return params


@pytest.fixture(params=database_params())
def database_url(request, tmp_path, postgres_url) -> str:
    """Parametrises a test over SQLite and (when configured) PostgreSQL."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    return postgres_url


@pytest.fixture(scope="session")
async def relay(temporal_env, tmp_path_factory) -> AsyncIterator[Relay]:
    """One Relay for the API tests of this session (SQLite)."""
    settings = relay_settings(sqlite_url(tmp_path_factory.mktemp("relay")), temporal_env)
    async for running in start_relay(settings, temporal_env.client):
        yield running


@pytest.fixture(scope="session")
async def admin_key(relay) -> str:
    return await relay.key("acme", "admin")




def pytest_terminal_summary(terminalreporter) -> None:
    """The counts each fault drill printed (tests/faults, docs/fault-drills.md), at the end of every
    run, -n 2 included (the workers send each test's captured stdout with its report)."""
    lines = []
    for outcome in ("passed", "failed"):
        for report in terminalreporter.stats.get(outcome, []):
            if getattr(report, "when", "") == "call" and "tests/faults/" in report.nodeid and report.capstdout.strip():
                lines.append(f"[{outcome}] {report.capstdout.strip().splitlines()[-1]}")
    if lines:
        terminalreporter.write_sep("-", "fault drill counts")
        for line in lines:
            terminalreporter.write_line(line)
