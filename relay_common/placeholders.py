"""The secret placeholder (SPEC §2.5): the workflow writes it, only the activity resolves it.

The workflow turns `{{secrets.NAME}}` into `\u27e6secret:<nonce>:NAME\u27e7`, with a nonce of
the run, so that a value arriving from trigger data cannot pose as a placeholder and Temporal
history never holds the secret itself.
"""

from __future__ import annotations

import re

SECRET_PLACEHOLDER = "\u27e6secret:{nonce}:{name}\u27e7"
_NAME = r"([A-Za-z0-9_.\-]+)"


def placeholder(nonce: str, name: str) -> str:
    return SECRET_PLACEHOLDER.format(nonce=nonce, name=name)


def placeholder_pattern(nonce: str) -> re.Pattern[str]:
    """Matches the placeholders of `nonce`; group 1 is the secret's name."""
    head, tail = SECRET_PLACEHOLDER.split("{name}")
    return re.compile(re.escape(head.format(nonce=nonce)) + _NAME + re.escape(tail))


def as_template(text: str, nonce: str) -> str:
    """`text` with the placeholders of `nonce` written back as `{{secrets.NAME}}`, for what a person
    reads (a dry run's `would_send`): the template they wrote, never a run's internal marker."""
    return placeholder_pattern(nonce).sub(lambda match: "{{secrets." + match.group(1) + "}}", text)
