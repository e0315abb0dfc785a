"""Create-time checks of email addresses and header values (SPEC §2.6: CR or LF in an email
subject, address or HTTP header value; literal addresses the email activity would refuse).
Pure: no I/O."""

from __future__ import annotations

from email.utils import getaddresses
from typing import Any


def not_addresses(value: Any) -> list[str]:
    """The literal entries of an address field that the email activity would refuse (SPEC §2.6: what
    can be known at create time is refused then); a templated entry is checked when sent."""
    items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    return [item for item in items if isinstance(item, str) and item.strip() and "{{" not in item
            and any("@" not in address for _, address in getaddresses([item]))]


def has_crlf(value: Any) -> bool:
    if isinstance(value, str):
        return "\r" in value or "\n" in value
    if isinstance(value, list):
        return any(has_crlf(v) for v in value)
    return False
