"""`X-Relay-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` (SPEC §2.2).

Used for outbound connector calls and, by the API, for inbound webhook triggers.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Relay-Signature"


def _key(secret: str | bytes) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def signature(secret: str | bytes, body: bytes, t: int) -> str:
    return hmac.new(_key(secret), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str | bytes, body: bytes, t: int) -> str:
    """The header value for `body` signed at unix time `t`."""
    return f"t={t},v1={signature(secret, body, t)}"


def verify(
    secret: str | bytes, header: str | None, body: bytes, *, now: float, tolerance: int = 300
) -> bool:
    """Whether `header` signs `body` with `secret`, at most `tolerance` seconds from `now`.

    Several `v1=` entries are accepted (secret rotation); comparison is constant time.
    """
    if not header:
        return False
    t: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            try:
                t = int(value)
            except ValueError:
                return False
        elif key == "v1":
            candidates.append(value)
    if t is None or not candidates or abs(now - t) > tolerance:
        return False
    expected = signature(secret, body, t)
    matched = False
    for candidate in candidates:  # no early exit: same work whichever entry matches
        matched |= hmac.compare_digest(expected, candidate)
    return matched
