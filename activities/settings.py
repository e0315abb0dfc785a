"""What the activities know of the operator's configuration: built by worker.py from app.config."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ActivitySettings:
    """The settings the side effects read; the names are those of `app.config.Settings`."""

    outbound_allow_list: tuple[str, ...] = ()
    public_url: str = "http://localhost:8000"  # the API's own hooks, which a webhook step may not call
    outbound_timeout_seconds: float = 30.0
    outbound_max_response_bytes: int = 1024 * 1024
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_from: str = "relay@localhost"
    approval_key: bytes = b""  # signs approval links (relay_common/approvals.py); from RELAY_SECRET_KEY


class SmtpServerSettings(Protocol):
    """The operator's SMTP server (RELAY_SMTP_*), as both ActivitySettings and app.config.Settings
    carry it: email steps without a tenant connection and the API's alerts send through it."""

    @property
    def smtp_host(self) -> str | None: ...
    @property
    def smtp_port(self) -> int: ...
    @property
    def smtp_username(self) -> str | None: ...
    @property
    def smtp_password(self) -> str | None: ...
    @property
    def smtp_starttls(self) -> bool: ...
    @property
    def smtp_from(self) -> str: ...
