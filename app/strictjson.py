"""The one JSON reader of request bodies: strict, bounded, linear in the size of the body.

Python's `json` accepts what JSON (RFC 8259) does not and what Relay cannot keep: `NaN`,
`Infinity` and numbers that overflow to infinity (stored, they make every later read fail),
lone UTF-16 surrogates (`"\\ud800"`: no UTF-8 can carry them), and duplicate keys (the last
silently wins). `loads` refuses each with the path of the offending value, and refuses nesting
deeper than MAX_DEPTH before any recursive parser sees the body.

Every step is linear: the depth scan is two C-level passes (one regex that never backtracks
across a string, one `bytes.translate`) and a C-level running sum; the parse is `json`'s C
scanner with small hooks; the walk that names a path runs only when something was refused.
"""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any

from relay_common.secret_paths import NOT_SHOWN, is_secret_path

MAX_DEPTH = 200

# A string from its opening quote to its closing one, or to the end of the body when it has none:
# it always matches where it starts, so no quote is ever scanned twice (the old pattern retried from
# every quote of an unterminated string, which made `"` + 32,000 × `\"` cost 23 s).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_BRACKETS = b"[]{}"
_NOT_BRACKETS = bytes(b for b in range(256) if b not in _BRACKETS)
_STEP = [0] * 256
_STEP[ord("[")] = _STEP[ord("{")] = 1
_STEP[ord("]")] = _STEP[ord("}")] = -1
# Without an escape that could be a surrogate in the body, no string needs looking at.
_MAYBE_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")
SURROGATE = re.compile("[\ud800-\udfff]")


class NotStrict(ValueError):
    """Well-formed enough for Python's json, but not JSON Relay accepts; `path` and `value` say where and what."""

    def __init__(self, message: str, path: str, value: str):
        super().__init__(message)
        self.message, self.path, self.value = message, path, value

    def detail(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message, "value": self.value}


def depth(body: bytes) -> int:
    """How deep arrays and objects nest, brackets inside strings not counted; linear time."""
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


class _Refused:
    """What a hook puts in place of a refused value, for the walk to find."""

    def __init__(self, message: str, value: str):
        self.message, self.value = message, value


class _Duplicated(dict[str, Any]):
    """An object with a repeated key (which the walk reports)."""

    key: str = ""


class _Hooks:
    """json.loads hooks that put markers where a value is refused (the walk then names its path)."""

    def __init__(self) -> None:
        self.refused = False

    def constant(self, name: str) -> _Refused:
        self.refused = True
        return _Refused(f"{name} is not a JSON number (non-finite numbers are refused)", name)

    def number(self, text: str) -> float | _Refused:
        value = float(text)
        if math.isinf(value):
            self.refused = True
            return _Refused(f"{text} overflows to infinity (non-finite numbers are refused)", text)
        return value

    def object(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result = dict(pairs)
        if len(result) == len(pairs):
            return result
        self.refused = True
        seen: set[str] = set()
        duplicated = _Duplicated(result)
        duplicated.key = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        return duplicated


def _shown(text: str) -> str:
    """Text that any UTF-8 answer can carry (a lone surrogate becomes its escape)."""
    return text.encode("utf-8", "backslashreplace").decode()


def _join(path: str, step: str | int) -> str:
    step = _shown(step) if isinstance(step, str) else str(step)
    return f"{path}.{step}" if path else step


def _find(value: Any, path: str, surrogates: bool) -> NotStrict | None:
    """The first refused thing in `value` (depth already bounded, so recursion is safe)."""
    if isinstance(value, _Refused):
        return NotStrict(value.message, path, value.value)
    if isinstance(value, str):
        if surrogates and SURROGATE.search(value):
            return NotStrict("a lone UTF-16 surrogate is not text", path, _shown(value)[:200])
        return None
    if isinstance(value, dict):
        if isinstance(value, _Duplicated):
            return NotStrict(f"duplicate key {_shown(value.key)!r}", _join(path, value.key), _shown(value.key))
        for key, item in value.items():
            if surrogates and SURROGATE.search(key):
                return NotStrict("a lone UTF-16 surrogate is not text", _join(path, key), _shown(key)[:200])
            found = _find(item, _join(path, key), surrogates)
            if found is not None:
                return found
        return None
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _find(item, _join(path, index), surrogates)
            if found is not None:
                return found
    return None


def _utf8(body: bytes) -> str:
    """The body as text: JSON between systems is UTF-8 (RFC 8259 §8.1), a leading BOM tolerated.
    Python's json would also read UTF-16 and UTF-32, where the checks below do not look: refused."""
    if json.detect_encoding(body) not in ("utf-8", "utf-8-sig"):
        try:
            json.loads(body)
        except (ValueError, RecursionError):
            raise ValueError("not JSON") from None
        raise NotStrict("JSON must be encoded as UTF-8", "", json.detect_encoding(body))
    return body.decode("utf-8").removeprefix("\ufeff")  # UnicodeDecodeError (a ValueError): not JSON


def loads(body: bytes) -> Any:
    """The strict value of a JSON body. ValueError (json.JSONDecodeError, UnicodeDecodeError) when it
    is not JSON at all; NotStrict when it is JSON Relay refuses (not UTF-8, too deep, non-finite,
    a duplicate key, a lone surrogate, an integer past Python's limit of digits)."""
    text = _utf8(body)
    if depth(body) > MAX_DEPTH:  # on the bytes: in UTF-8 no multi-byte character holds a quote or bracket
        raise NotStrict(f"JSON nested deeper than {MAX_DEPTH} levels", "", f"depth > {MAX_DEPTH}")
    hooks = _Hooks()
    try:
        value = json.loads(text, parse_constant=hooks.constant, parse_float=hooks.number,
                           object_pairs_hook=hooks.object)
    except json.JSONDecodeError:
        raise
    except ValueError as error:  # int() refuses more digits than sys.get_int_max_str_digits()
        raise NotStrict("a number with too many digits", "", str(error).split(":")[0]) from None
    # Strict UTF-8 decoding refuses encoded surrogates, so only a \uD800–\uDFFF escape can make one.
    surrogates = _MAYBE_SURROGATE.search(body) is not None
    if hooks.refused or surrogates:
        found = _find(value, "", surrogates)
        if found is not None:
            raise _withheld(found) if is_secret_path(found.path) else found
    return value


def _withheld(refused: NotStrict) -> NotStrict:
    """A refused secret (SPEC §3.2) is named by its path, never shown, also not when refused."""
    message = refused.message if refused.value not in refused.message else "a value that is not accepted JSON"
    return NotStrict(f"{message} {NOT_SHOWN}", refused.path, NOT_SHOWN)
