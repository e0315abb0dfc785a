"""Secret placeholders (SPEC §2.5): resolved only here, inside the activity.

The format lives in relay_common/placeholders.py, shared with the workflow that writes it.
"""

from __future__ import annotations

import re
from typing import Any

from temporalio.exceptions import ApplicationError

from activities.connections import ConnectionStore
from activities.scrub import REDACTED, redact, redact_value  # noqa: F401  (re-exported)
from relay_common.failures import Failure
from relay_common.placeholders import placeholder_pattern
from relay_common.walk import map_leaves, strings


async def resolve_secrets(
    value: Any,
    *,
    tenant_id: str,
    nonce: str,
    store: ConnectionStore,
    found: set[str] | None = None,
) -> Any:
    """`value` with every placeholder of `nonce` replaced by the tenant's secret.

    Strings inside dicts and lists are handled recursively; nothing else changes. The
    values used are added to `found` (so the caller can redact them from errors).
    """
    if not nonce:  # no nonce: the workflow made no placeholders, so resolve nothing
        return value
    pattern = placeholder_pattern(nonce)
    names: set[str] = set()
    _collect(value, pattern, names)
    values: dict[str, str] = {}
    for name in sorted(names):
        secret = await store.get_secret(tenant_id, name)
        if secret is None:
            raise ApplicationError(
                f"secret {name!r} is not defined for this tenant "
                "(create a connection of type 'secret' with that name)",
                type=Failure.SECRET_NOT_FOUND,
                non_retryable=True,
            )
        values[name] = secret
        if found is not None and secret:
            found.add(secret)
    if not values:
        return value
    return _replace(value, pattern, values)


def _collect(value: Any, pattern: re.Pattern[str], names: set[str]) -> None:
    for text in strings(value):
        names.update(pattern.findall(text))


def _replace(value: Any, pattern: re.Pattern[str], values: dict[str, str]) -> Any:
    def one(item: Any) -> Any:
        return pattern.sub(lambda m: values[m.group(1)], item) if isinstance(item, str) else item

    return map_leaves(value, one)


def mask_secrets(value: Any, *, nonce: str) -> Any:
    """`value` with every placeholder of `nonce` shown as `{{secrets.NAME}}`: the rendering of a
    step's input that error messages may quote (SPEC §5: a secret never reaches a message)."""
    if not nonce:
        return value
    pattern = placeholder_pattern(nonce)
    return _replace(value, pattern, _Shown())


class _Shown(dict[str, str]):
    def __missing__(self, name: str) -> str:
        return "{{secrets.%s}}" % name

