"""The `send_channel_message` action (SPEC §2.4): Slack, Teams, Discord or a plain webhook."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from temporalio.exceptions import ApplicationError

from activities.base import ActionContext, invalid, type_name
from relay_common.failures import Failure

CHANNELS = ("slack", "teams", "discord", "webhook")
SLACK_API_URL = "https://slack.com/api"


async def send_channel_message(ctx: ActionContext) -> dict[str, Any]:
    data = await ctx.resolved_input()
    channel = str(data.get("channel") or "").lower()
    if channel not in CHANNELS:
        raise invalid(f"channel must be one of {', '.join(CHANNELS)}, not {ctx.shown.get('channel')!r}")
    message = _text(data, "message")
    recipient = _text(data, "recipient")
    username = _text(data, "username")
    headers = {"Idempotency-Key": ctx.action.idempotency_key}

    url = data.get("webhook_url")
    if url is not None and not isinstance(url, str):
        raise invalid(f"webhook_url must be a string, not {type_name(url)}")
    bot_api: str | None = None
    shown = f"the webhook_url of the step {_shown(ctx.shown.get('webhook_url'))}"
    if not url:
        if channel == "webhook":
            raise _not_configured("channel 'webhook' needs a webhook_url")
        conn = await ctx.connection(channel, data.get("connection"))
        if conn is None:
            raise _not_configured(f"no webhook_url given and the tenant has no default {channel} connection")
        url = conn.secrets.get("webhook_url")
        shown = f"the webhook_url of {channel} connection {conn.name!r}"  # a secret: never shown
        if not url and channel == "slack" and conn.secrets.get("bot_token"):
            if not recipient:
                raise invalid("recipient (the Slack channel) is required when posting with a bot token")
            bot_api = str(conn.config.get("api_url") or SLACK_API_URL).rstrip("/")
            url = f"{bot_api}/chat.postMessage"
            shown = url
            if not str(conn.secrets["bot_token"]).isascii():  # httpx's UnicodeEncodeError would quote part of it
                raise invalid(f"slack connection {conn.name!r}: its bot_token is not ASCII, so no header can carry it")
            headers["Authorization"] = f"Bearer {conn.secrets['bot_token']}"
        if not url:
            raise _not_configured(f"{channel} connection {conn.name!r} has no webhook_url")

    payload = _payload(channel, message=message, recipient=recipient, username=username)
    response = await ctx.http(
        "POST", str(url), shown=shown, json=payload, headers=headers, sensitive_headers=["authorization"]
    )
    if bot_api is not None:
        _check_slack_reply(response.body)
    return {"delivered": True, "status_code": response.status_code, "channel": channel}


def _payload(channel: str, *, message: str, recipient: str, username: str) -> dict[str, Any]:
    if channel == "slack":
        payload: dict[str, Any] = {"text": message}
        if recipient:
            payload["channel"] = recipient
        if username:
            payload["username"] = username
        return payload
    if channel == "teams":
        payload = {
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "text": message,
        }
        if username:
            payload["title"] = username
        return payload
    if channel == "discord":
        payload = {"content": message}
        if username:
            payload["username"] = username
        return payload
    return {"message": message, "recipient": recipient or None, "username": username or None}


# Slack's `ok: false` errors that say "not now" rather than "never": nothing was posted, so a retry
# is safe; every other error (channel_not_found, invalid_auth, …) is final.
SLACK_TEMPORARY_ERRORS = {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}


def _check_slack_reply(body: bytes) -> None:
    try:
        reply = json.loads(body)
    except ValueError:
        raise ApplicationError("Slack answered with something that is not JSON", type=Failure.SLACK_ERROR) from None
    if not isinstance(reply, dict) or reply.get("ok") is not True:
        error = reply.get("error", "unknown_error") if isinstance(reply, dict) else "unexpected_reply"
        raise ApplicationError(
            f"Slack refused the message: {error}",
            {"error": error},
            type=Failure.SLACK_ERROR,
            non_retryable=error not in SLACK_TEMPORARY_ERRORS,
        )


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        raise invalid(f"{key} must be text, not {type_name(value)}")
    return str(value)


def _shown(masked: Any) -> str:
    """The step's webhook_url as messages quote it: its origin only (the path of a Slack, Teams or
    Discord webhook URL is its credential), or the `{{secrets.X}}` it came from."""
    text = str(masked or "")
    try:
        parts = urlsplit(text)
    except ValueError:
        parts = None
    if parts is not None and parts.scheme and parts.netloc:
        return f"({parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}/…)"
    return f"({text})" if text.startswith("{{secrets.") and text.endswith("}}") else "(not a URL)"


def _not_configured(message: str) -> ApplicationError:
    return ApplicationError(message, type=Failure.CHANNEL_NOT_CONFIGURED, non_retryable=True)
