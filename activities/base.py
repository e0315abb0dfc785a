"""What every action activity gets: settings, the tenant's connections, secret tracking."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from temporalio.exceptions import ApplicationError

from activities import errors, outbound
from activities.connections import ConnectionStore, ResolvedConnection
from activities.models import ActionInput
from activities.secrets import resolve_secrets
from app.config import Settings

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def invalid(message: str) -> ApplicationError:
    """A mistake in the step's input: retrying cannot help."""
    return ApplicationError(message, type="ValidationError", non_retryable=True)


def check_no_newlines(what: str, value: str) -> str:
    if "\r" in value or "\n" in value:
        raise invalid(f"{what} must not contain CR or LF characters")
    return value


def parse_timeout(value: Any, default: float) -> float:
    """`10s`, `500ms`, `2m`, `1h` or a number of seconds."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise invalid(f"timeout {value!r} is not a duration")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise invalid(f"timeout {value!r} is not a duration like '10s' or '500ms'")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise invalid(f"timeout {value!r} must be positive")
    return seconds


@dataclass
class ActionContext:
    settings: Settings
    store: ConnectionStore
    action: ActionInput
    secrets: set[str] = field(default_factory=set)  # values to scrub from any error

    async def resolved_input(self) -> dict[str, Any]:
        return await resolve_secrets(
            self.action.input,
            tenant_id=self.action.tenant_id,
            nonce=self.action.secret_nonce,
            store=self.store,
            found=self.secrets,
        )

    async def connection(self, type: str, ref: Any, *, default: bool = True) -> ResolvedConnection | None:
        """The connection `ref` (id or name) of `type`, else the tenant's default if `default`."""
        if ref is not None and not isinstance(ref, str):
            raise invalid(f"connection must be a connection id or name, not {type_name(ref)}")
        if not ref and not default:
            return None
        conn = await self.store.get_connection(self.action.tenant_id, type, ref or None)
        if conn is None and ref:
            raise ApplicationError(
                f"no {type} connection {ref!r} exists for this tenant",
                type="ConnectionNotFound",
                non_retryable=True,
            )
        if conn is not None:
            self.secrets.update(_strings(conn.secrets))
        return conn

    async def http(self, method: str, url: str, **kwargs: Any) -> outbound.OutboundResponse:
        """An outbound call under the operator's rules, its failures classified for Temporal."""
        kwargs.setdefault("timeout", self.settings.outbound_timeout_seconds)
        kwargs.setdefault("max_bytes", self.settings.outbound_max_response_bytes)
        try:
            response = await outbound.send(
                method,
                url,
                allow=self.settings.outbound_allow_list,
                depth=self.action.depth,
                secrets=self.secrets,
                own_url=self.settings.public_url,
                **kwargs,
            )
        except Exception as exc:
            error = errors.from_exception(exc, method=method, url=url, secrets=self.secrets)
            if error is None:
                raise
            raise error from None
        return errors.check_response(response, method=method, url=url, secrets=self.secrets)


def type_name(value: Any) -> str:
    return type(value).__name__


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return []
