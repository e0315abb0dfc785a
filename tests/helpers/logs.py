"""Capturing every log line a process writes, to search it for what must never be logged."""

from __future__ import annotations

import contextlib
import logging


class LogCapture(logging.Handler):
    """Every stdlib log record (message, arguments, extras, exception) and every structlog line."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("mail.log"):  # the test's own SMTP server (it logs the AUTH exchange)
            return
        with contextlib.suppress(Exception):  # a record that cannot be formatted is still searched below
            self.lines.append(self.format(record))
        self.lines.append(repr({k: v for k, v in vars(record).items() if k not in ("exc_info",)}))
