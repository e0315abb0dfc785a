"""`create_task` and `update_field` (SPEC §2.4): signed JSON POSTs to the tenant's connector."""

from __future__ import annotations

import json
import time
from typing import Any

from temporalio.exceptions import ApplicationError

from activities.base import ActionContext
from activities.scrub import redact_cut
from relay_common.failures import Failure
from relay_common import signing

MAX_REPLY_BYTES = 64 * 1024  # step outputs stay far below Temporal's payload limits


async def create_task(ctx: ActionContext) -> dict[str, Any]:
    return await call_connector(ctx, "create_task")


async def update_field(ctx: ActionContext) -> dict[str, Any]:
    return await call_connector(ctx, "update_field")


async def call_connector(ctx: ActionContext, action: str) -> dict[str, Any]:
    data = await ctx.resolved_input()
    ref = data.pop("connection", None)
    conn = await ctx.connection("connector", ref)
    if conn is None:
        raise _not_configured("the tenant has no default connector connection")
    url = conn.config.get("url")
    secret = conn.secrets.get("signing_secret")
    if not url:
        raise _not_configured(f"connector connection {conn.name!r} has no url")
    if not secret:
        raise _not_configured(f"connector connection {conn.name!r} has no signing_secret")

    body = json.dumps(
        {
            "action": action,
            "instance_id": ctx.action.instance_id,
            "step_id": ctx.action.step_id,
            "input": data,
        },
        separators=(",", ":"),
        default=str,
    ).encode()
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": ctx.action.idempotency_key,
        signing.HEADER: signing.sign(str(secret), body, int(time.time())),
    }
    response = await ctx.http("POST", str(url), content=body, headers=headers, max_bytes=MAX_REPLY_BYTES)
    if response.truncated:
        text = response.body.decode("utf-8", errors="replace")
        return {"result": redact_cut(text, ctx.secrets), "truncated": True}  # a secret the cap cut in two
    if not response.body.strip():
        return {}
    try:
        reply = json.loads(response.body)
    except ValueError:
        reply = response.body.decode("utf-8", errors="replace")
    return reply if isinstance(reply, dict) else {"result": reply}


def _not_configured(message: str) -> ApplicationError:
    return ApplicationError(message, type=Failure.CONNECTOR_NOT_CONFIGURED, non_retryable=True)
