"""Scrubbing secret values out of text (SPEC §5), in the forms Relay and receivers print them.

A secret can come back encoded: percent-encoded by a URL (`quote` or `quote_plus`, upper or
lower hex, even twice), form-encoded in a query string, lower-cased in a host name, IDNA-encoded,
JSON- or repr-escaped in a body or message, or as a URL normalised by the HTTP client
(`HTTP://H:80/a b` -> `http://h/a%20b`). Each secret becomes one case-insensitive pattern in
which every character may appear as itself or in any of those encodings, so a mix of them
(httpx encodes a space but not a `+`) matches too. A secret that is a URL also stands for its
normalised form and for its host name, path and query, which resolvers and receivers quote on
their own.

Length rule (docs/security.md): a secret of at least `MIN_SUBSTRING` characters is
scrubbed wherever it occurs; a shorter one only where it stands alone, not touching a letter or
digit on either side, so a secret "42" is cut out of "pin=42" but leaves "1420" alone.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpx

from relay_common.walk import map_leaves

REDACTED = "[redacted]"
MIN_SUBSTRING = 8
_ALNUM_BEFORE = r"(?<![^\W_])"  # not right after a letter or digit
_ALNUM_AFTER = r"(?![^\W_])"


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret value, in any of its encoded forms, replaced by `[redacted]`."""
    pattern = _pattern(_key(secrets))
    return pattern.sub(REDACTED, text) if pattern is not None else text


def redact_cut(text: str, secrets: Iterable[str]) -> str:
    """`redact` for text that was cut off (a capped body): a secret the cut split leaves only
    its beginning at the end, so a trailing start of a secret (`MIN_SUBSTRING` characters
    or more, in any of its forms) goes too."""
    text = redact(text, secrets)
    key = _key(secrets)
    body = text.rstrip("\ufffd")  # a UTF-8 character the cut split in two
    window = body[-MAX_TAIL:]
    cut = len(body)
    for secret in key:
        if len(secret) < MIN_SUBSTRING:
            continue
        match = _tail_pattern(secret).search(window)
        if match:
            cut = min(cut, len(body) - len(window) + match.start())
    return text if cut == len(body) else body[:cut] + REDACTED


def contains(text: str, secrets: Iterable[str]) -> bool:
    """Whether `text` carries a secret in any of its forms (raw, encoded, lower-cased...)."""
    pattern = _pattern(_key(secrets))
    return pattern is not None and pattern.search(text) is not None


def redact_value(value: Any, secrets: Iterable[str]) -> Any:
    """`redact` applied to every string (keys included) inside dicts, lists and tuples."""
    key = _key(secrets)
    if _pattern(key) is None:
        return value
    def one(item: Any) -> Any:
        return redact(item, key) if isinstance(item, str) else item

    return map_leaves(value, one, key=one)


def _key(secrets: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({s for s in secrets if isinstance(s, str) and s}, key=lambda s: (-len(s), s)))


MAX_TAIL = 4096  # how far from the end a cut secret can begin (12 bytes per encoded character)


@functools.lru_cache(maxsize=64)
def _tail_pattern(secret: str) -> re.Pattern[str]:
    """A start of `secret` (at least MIN_SUBSTRING characters of it) that ends the text."""
    chars = [_char(c) for c in secret[:MAX_TAIL // 12]]
    optional = ""
    for char in reversed(chars[MIN_SUBSTRING:]):
        optional = f"(?:{char}{optional})?"
    return re.compile("".join(chars[:MIN_SUBSTRING]) + optional + r"\Z", re.IGNORECASE)


@functools.lru_cache(maxsize=256)
def _pattern(secrets: tuple[str, ...]) -> re.Pattern[str] | None:
    if not secrets:
        return None
    alternatives: list[tuple[int, str]] = []
    for secret in secrets:
        short = len(secret) < MIN_SUBSTRING
        for form in _forms(secret):
            body = "".join(_char(c) for c in form)
            alternatives.append((len(form), f"{_ALNUM_BEFORE}{body}{_ALNUM_AFTER}" if short else body))
    alternatives.sort(key=lambda item: -item[0])  # longest first: a longer form wins over its prefix
    return re.compile("|".join(f"(?:{body})" for _, body in alternatives), re.IGNORECASE)


def _forms(secret: str) -> list[str]:
    """The secret and the strings that stand for it once a URL parser or IDNA has had its way."""
    forms = [secret]
    try:
        idna = secret.encode("idna").decode("ascii")
        if idna.lower() != secret.lower():
            forms.append(idna)
    except (UnicodeError, ValueError):
        pass
    forms += _url_forms(secret)
    unique: list[str] = []
    for form in forms:
        if form and form.lower() not in {u.lower() for u in unique}:
            unique.append(form)
    return unique


def _url_forms(secret: str) -> list[str]:
    if "://" not in secret:
        return []
    try:
        parts = urlsplit(secret)
        url = httpx.URL(secret)
    except (ValueError, httpx.InvalidURL, TypeError):
        return []
    if not parts.scheme or not parts.netloc:
        return []
    forms = [str(url)]
    if url.port is not None and url.port == {"http": 80, "https": 443}.get(url.scheme):
        forms.append(str(url.copy_with(port=None)))  # `HTTP://h:80/x` is `http://h/x`
    tail = secret[len(f"{parts.scheme}://{parts.netloc}"):]
    for part in (tail, parts.path, parts.query, parts.password or "", _host_name(parts.hostname)):
        if len(part) >= MIN_SUBSTRING:  # a receiver quoting only the path of a webhook URL, a resolver its host
            forms.append(part)
    return forms


def _host_name(host: str | None) -> str:
    """The host of a secret URL, unless it is an IP address (those are not secret, and the
    messages about the step's other calls would lose them)."""
    if not host or host.replace(".", "").isdigit() or ":" in host:
        return ""
    return host


def _char(c: str) -> str:
    """A pattern for one character: itself, percent-encoded (once or twice), `+` for a space,
    or JSON/repr-escaped."""
    options = [re.escape(c)]
    encoded = c.encode("utf-8")
    if c.isalnum() and c.isascii():
        return options[0]  # letters and digits are never encoded (case is handled by IGNORECASE)
    options.append("".join(f"%(?:25)?{b:02X}" for b in encoded))
    if c == " ":
        options.append(r"\+")
    if c in "\\'\"/":
        options.append(re.escape("\\" + c))
    code = ord(c)
    if code < 0x20 or code >= 0x7F:
        if code > 0xFFFF:
            high, low = 0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)
            options.append(re.escape(f"\\u{high:04x}\\u{low:04x}"))
            options.append(re.escape(f"\\U{code:08x}"))
        else:
            options.append(re.escape(f"\\u{code:04x}"))
            if code < 0x100:
                options.append(re.escape(f"\\x{code:02x}"))
    return "(?:" + "|".join(options) + ")"
