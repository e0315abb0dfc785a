"""Approval links (SPEC §2.4; docs/approvals.md): the placeholder the workflow writes and the
signed token the activity puts in its place. Pure: standard library only.

The workflow renders `{{approvals.<block>.approve_url}}` as `\u27e6approval:<nonce>:<block>:approved\u27e7`
(a nonce of the run, so trigger data cannot pose as one), so Temporal history never holds a
token. The activity that sends the step replaces it with `<public url>/v1/approvals/<token>`, where
the token is `<payload>.<mac>`: the payload names tenant, instance, block and decision (base64url),
the mac is HMAC-SHA256 of it under the server's approval key. Only the server can make one, and
the API checks it in constant time before it looks anything up.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

APPROVAL_PLACEHOLDER = "\u27e6approval:{nonce}:{block}:{decision}\u27e7"
DECISIONS = ("approved", "rejected")
_MAC_BYTES = 24


def approval_key(material: str) -> bytes:
    """The approval key, derived from the server's secret key (never the key itself)."""
    return hashlib.sha256(b"relay approval links\0" + material.encode()).digest()


def placeholder(nonce: str, block: str, decision: str) -> str:
    return APPROVAL_PLACEHOLDER.format(nonce=nonce, block=block, decision=decision)


def placeholder_pattern(nonce: str) -> re.Pattern[str]:
    """Matches the approval placeholders of `nonce`; groups: block id, decision."""
    head = re.escape(f"\u27e6approval:{nonce}:")
    return re.compile(head + r"([A-Za-z_][A-Za-z0-9_]*):(approved|rejected)\u27e7")


def as_template(text: str, nonce: str) -> str:
    """`text` with the approval placeholders of `nonce` written back as the template a person wrote
    (`{{approvals.<block>.approve_url}}`), for a dry run's `would_send`."""
    urls = {"approved": "approve_url", "rejected": "reject_url"}
    return placeholder_pattern(nonce).sub(
        lambda match: "{{approvals." + match.group(1) + "." + urls[match.group(2)] + "}}", text)


@dataclass(frozen=True)
class Link:
    tenant_id: str
    instance_id: str
    block_id: str
    decision: str


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(key: bytes, link: Link) -> str:
    payload = _b64("\n".join((link.tenant_id, link.instance_id, link.block_id, link.decision)).encode())
    mac = hmac.new(key, payload.encode(), hashlib.sha256).digest()[:_MAC_BYTES]
    return f"{payload}.{_b64(mac)}"


def verify(key: bytes, token: str) -> Link | None:
    """The link a token names, or None when the server did not sign it."""
    if not key or len(token) > 512 or token.count(".") != 1:
        return None
    payload, _, mac = token.partition(".")
    expected = _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest()[:_MAC_BYTES])
    if not hmac.compare_digest(expected.encode(), mac.encode()):
        return None
    try:
        parts = _unb64(payload).decode().split("\n")
    except (ValueError, UnicodeDecodeError):
        return None
    if len(parts) != 4 or parts[3] not in DECISIONS:
        return None
    return Link(*parts)
