"""What every action activity gets: its settings, the tenant's connections, secret tracking."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from temporalio.exceptions import ApplicationError

from activities import errors, outbound
from activities.approval_links import resolve_links
from activities.connections import ConnectionStore, ResolvedConnection
from activities.models import ActionInput
from activities.secrets import mask_secrets, resolve_secrets
from activities.settings import ActivitySettings
from relay_common.failures import Failure
from relay_common.walk import strings
from workflows.durations import DurationError, parse_duration


def invalid(message: str) -> ApplicationError:
    """A mistake in the step's input: retrying cannot help."""
    return ApplicationError(message, type=Failure.VALIDATION_ERROR, non_retryable=True)


def check_no_newlines(what: str, value: str) -> str:
    if "\r" in value or "\n" in value:
        raise invalid(f"{what} must not contain CR or LF characters")
    return value


def parse_timeout(value: Any, default: float) -> float:
    """A step's `timeout`: a duration as the workflow reads one (`500ms`, `10s`, `2m`, `1h`, `1d`,
    `1h30m`) or a number of seconds; missing or empty means `default`."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise invalid(f"timeout {value!r} is not a duration")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        try:
            seconds = parse_duration(str(value)).total_seconds()
        except DurationError:
            raise invalid(f"timeout {value!r} is not a duration like '10s' or '500ms'") from None
    if seconds <= 0:
        raise invalid(f"timeout {value!r} must be positive")
    return seconds


@dataclass
class ActionContext:
    settings: ActivitySettings
    store: ConnectionStore
    action: ActionInput
    secrets: set[str] = field(default_factory=set)  # values to scrub from any error
    # The step's input with each secret shown as `{{secrets.NAME}}`: what messages may quote.
    shown: dict[str, Any] = field(default_factory=dict)

    async def resolved_input(self) -> dict[str, Any]:
        """The step's input with its secrets resolved; `shown` keeps the masked rendering."""
        action = self.action
        self.shown = mask_secrets(action.input, nonce=action.secret_nonce)
        value = resolve_links(action.input, key=self.settings.approval_key, public_url=self.settings.public_url,
                              tenant_id=action.tenant_id, instance_id=action.instance_id,
                              nonce=action.secret_nonce, found=self.secrets)
        return await resolve_secrets(value, tenant_id=action.tenant_id, nonce=action.secret_nonce,
                                     store=self.store, found=self.secrets)

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
                type=Failure.CONNECTION_NOT_FOUND,
                non_retryable=True,
            )
        if conn is not None:
            self.secrets.update(strings(conn.secrets))
        return conn

    async def http(
        self, method: str, url: str, *, shown: str | None = None, **kwargs: Any
    ) -> outbound.OutboundResponse:
        """An outbound call under the operator's rules, its failures classified for Temporal.

        `shown` names the target in error messages (built from `self.shown`, never from the
        resolved URL); without it the URL is shown without credentials or query string."""
        shown = shown if shown is not None else outbound.display_url(url)
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
            error = errors.from_exception(exc, method=method, shown=shown, secrets=self.secrets)
            if error is None:
                raise
            raise error from None
        return errors.check_response(response, method=method, shown=shown, secrets=self.secrets)


def type_name(value: Any) -> str:
    return type(value).__name__
