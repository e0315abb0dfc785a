"""RelayActivities: the five action activities of SPEC §2.4, bound to settings and connections."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError, FailureError

from activities import channels, connector, email, http
from activities.base import ActionContext
from activities.connections import ConnectionStore
from activities.models import ActionInput, ActionResult
from activities.scrub import redact, redact_value
from activities.settings import ActivitySettings

Impl = Callable[[ActionContext], Awaitable[dict[str, Any]]]


class RelayActivities:
    """The action activities, bound to the process's settings and the tenants' connections."""

    def __init__(self, settings: ActivitySettings, store: ConnectionStore) -> None:
        self.settings = settings
        self.store = store

    @activity.defn(name="send_email")
    async def send_email(self, input: ActionInput) -> ActionResult:
        return await self._run("send_email", email.send_email, input)

    @activity.defn(name="webhook")
    async def webhook(self, input: ActionInput) -> ActionResult:
        return await self._run("webhook", http.webhook, input)

    @activity.defn(name="send_channel_message")
    async def send_channel_message(self, input: ActionInput) -> ActionResult:
        return await self._run("send_channel_message", channels.send_channel_message, input)

    @activity.defn(name="create_task")
    async def create_task(self, input: ActionInput) -> ActionResult:
        return await self._run("create_task", connector.create_task, input)

    @activity.defn(name="update_field")
    async def update_field(self, input: ActionInput) -> ActionResult:
        return await self._run("update_field", connector.update_field, input)

    async def _run(self, name: str, impl: Impl, input: ActionInput) -> ActionResult:
        ctx = ActionContext(settings=self.settings, store=self.store, action=input)
        log_extra = {"tenant_id": input.tenant_id, "instance_id": input.instance_id, "step_id": input.step_id}
        try:
            output = await impl(ctx)
        except asyncio.CancelledError:
            raise
        except ApplicationError as exc:
            activity.logger.info("%s failed: %s", name, redact(exc.message, ctx.secrets), extra=log_extra)
            raise _for_history(exc, ctx.secrets) from None
        except FailureError:
            raise
        except Exception as exc:  # noqa: BLE001 - the last line of defence: scrubbed, then retried by policy
            message = redact(f"{name} failed: {type(exc).__name__}: {exc}", ctx.secrets)
            activity.logger.warning(message, extra=log_extra)
            # Our bug or an unforeseen condition: let the step's retry policy decide.
            raise _for_history(ApplicationError(message, type=type(exc).__name__), set()) from None
        # A receiver that echoes a credential back must not carry it into history or the API.
        return ActionResult(output=redact_value(output, ctx.secrets), attempt=activity.info().attempt)

    def list(self) -> list[Callable[..., Any]]:
        """The bound activities, for `Worker(activities=...)`."""
        return [
            self.send_email,
            self.webhook,
            self.send_channel_message,
            self.create_task,
            self.update_field,
        ]


def _for_history(exc: ApplicationError, secrets: set[str]) -> ApplicationError:
    """The failure as the workflow reads it: a copy of `exc` without secret values and without its
    cause chain, whose first detail carries the attempt, so a step that fails for good after retries
    records how many attempts it made (workflows/actions.py `read_failure`; Temporal's failure says
    only why retrying stopped)."""
    details = redact_value(list(exc.details), secrets)
    attempt = {"attempt": activity.info().attempt}
    details = [{**details[0], **attempt}, *details[1:]] if details and isinstance(details[0], dict) \
        else [attempt, *details]
    return ApplicationError(
        redact(exc.message, secrets),
        *details,
        type=exc.type,
        non_retryable=exc.non_retryable,
        next_retry_delay=exc.next_retry_delay,
        category=exc.category,
    )
