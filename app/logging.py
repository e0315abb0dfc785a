"""structlog setup, shared by the API, the worker and the CLI."""

from __future__ import annotations

import logging

import structlog

from app.config import Settings
from app.tracing import trace_ids


def configure_logging(settings: Settings) -> None:
    level = logging.getLevelName(settings.log_level.upper())
    logging.basicConfig(level=level, format="%(message)s")
    # httpx logs every request's full URL at INFO; outbound URLs can carry secrets (a Slack
    # webhook URL is one); aiosqlite logs every statement with its parameters at DEBUG (a hook
    # token, encrypted secrets). Their loggers only speak up for warnings.
    for name in ("httpx", "httpcore", "aiosmtplib", "aiosqlite"):
        logging.getLogger(name).setLevel(logging.WARNING)
    renderer = (structlog.processors.JSONRenderer() if settings.log_format == "json"
                else structlog.dev.ConsoleRenderer(colors=False))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            trace_ids,  # trace_id and span_id inside a span (tracing on: app/tracing.py)
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level if isinstance(level, int) else logging.INFO),
        cache_logger_on_first_use=True,
    )
