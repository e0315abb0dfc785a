"""Where a request holds a secret (SPEC §3.2, §2.2): a connection's `secrets` and a webhook trigger's
signing `secret`. Errors about a value at such a path say what is wrong, never the value."""

from __future__ import annotations

NOT_SHOWN = "(the value is not shown: it is a secret)"


def is_secret_path(path: str) -> bool:
    """`secrets.api_key`, `body.secrets`, `trigger_configuration.secret` (dotted, as errors name paths)."""
    parts = path.split(".")
    return "secrets" in parts or any(
        part == "secret" and index and parts[index - 1] == "trigger_configuration"
        for index, part in enumerate(parts))
