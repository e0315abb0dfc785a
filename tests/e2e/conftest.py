"""Fixtures of the end-to-end tests: a local HTTP receiver; for the canary tests, every log line
captured and a Relay that logs everything."""

from __future__ import annotations

import logging

import pytest
import structlog

from app.config import Settings
from app.logging import configure_logging
from tests.helpers.logs import LogCapture
from tests.helpers.relay import relay_settings, sqlite_url, start_relay
from tests.receivers import HttpReceiver


@pytest.fixture
def captured_logs(caplog, monkeypatch):
    capture = LogCapture()
    caplog.set_level(logging.DEBUG)
    loggers = [logging.getLogger()] + [logging.getLogger(name) for name, item in
                                       list(logging.root.manager.loggerDict.items())
                                       if isinstance(item, logging.Logger) and not item.propagate]
    for logger in loggers:
        logger.addHandler(capture)
    # structlog writes with PrintLogger (cached per logger on first use, bound to the stdout of
    # that moment): record at the class, whatever file an instance holds.
    original = structlog.PrintLogger.msg

    def recording(self, message: str) -> None:
        capture.lines.append(f"structlog {message}")
        original(self, message)

    for name in ("msg", "log", "debug", "info", "warn", "warning", "fatal", "failure", "err", "error",
                 "critical", "exception"):
        if hasattr(structlog.PrintLogger, name):
            monkeypatch.setattr(structlog.PrintLogger, name, recording)
    yield capture
    for logger in loggers:
        logger.removeHandler(capture)


@pytest.fixture(scope="module")
async def loud_relay(temporal_env, tmp_path_factory):
    """A Relay logging at DEBUG as JSON, so every log line it can write is there to be searched."""
    settings = relay_settings(sqlite_url(tmp_path_factory.mktemp("canaries")), temporal_env,
                              log_level="DEBUG", log_format="json")
    async for running in start_relay(settings, temporal_env.client):
        yield running
    configure_logging(Settings(env="test"))  # back to INFO for later tests in this process


@pytest.fixture
async def receiver():
    async with HttpReceiver() as server:
        yield server
