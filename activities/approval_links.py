"""Approval links (SPEC §2.4; docs/approvals.md): placeholders become signed URLs only here.

The workflow wrote `\u27e6approval:<nonce>:<block>:<decision>\u27e7` (relay_common/approvals.py);
the activity that sends the step replaces each with `<RELAY_PUBLIC_URL>/v1/approvals/<token>`
and adds the token to the values scrubbed from its errors and output, so a token reaches only
the place its template put it: never Temporal history, logs or the API.
"""

from __future__ import annotations

from typing import Any

from temporalio.exceptions import ApplicationError

from relay_common.approvals import Link, placeholder_pattern, sign
from relay_common.failures import Failure
from relay_common.walk import map_leaves, strings


def resolve_links(value: Any, *, key: bytes, public_url: str, tenant_id: str, instance_id: str,
                  nonce: str, found: set[str]) -> Any:
    if not nonce:
        return value
    pattern = placeholder_pattern(nonce)
    if not any(pattern.search(text) for text in strings(value)):
        return value
    if not key:
        raise ApplicationError("approval links need the server's secret key (RELAY_SECRET_KEY)",
                               type=Failure.VALIDATION_ERROR, non_retryable=True)
    base = public_url.rstrip("/")

    def url(block: str, decision: str) -> str:
        token = sign(key, Link(tenant_id, instance_id, block, decision))
        found.add(token)
        return f"{base}/v1/approvals/{token}"

    def one(item: Any) -> Any:
        return pattern.sub(lambda m: url(m.group(1), m.group(2)), item) if isinstance(item, str) else item

    return map_leaves(value, one)
