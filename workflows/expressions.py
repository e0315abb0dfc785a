"""Templates (SPEC §2.5): pure, deterministic, no I/O. Conditions are in workflows/conditions.py.

A template token is a dotted path lookup and nothing else; rendering is a single pass.
"""

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from relay_common.placeholders import SECRET_PLACEHOLDER


PATH = re.compile(r"(?!__)[A-Za-z0-9_-]+(?:\.(?!__)[A-Za-z0-9_-]+)*")  # a dotted path
_INDEX = re.compile(r"[0-9]{1,9}")
_SECRET_PREFIX = "secrets."


class TemplateSyntaxError(ValueError):
    """A `{{…}}` that is not a plain path, a `{% … %}`, or an unclosed `{{`."""

    def __init__(self, message: str, *, path: str, token: str) -> None:
        super().__init__(message)
        self.path = path
        self.token = token


class ExpressionError(ValueError):
    """A user's mistake found while evaluating a condition (fails the run, not retried)."""


# --- templates -------------------------------------------------------------------------

_Token = tuple[str, str]  # (path, original text "{{ path }}")


def _parse(text: str, location: str) -> list[str | _Token]:
    """Split a string into literal text and tokens, rejecting anything that is not a path."""
    tag = text.find("{%")
    if tag != -1 and (close := text.find("%}", tag + 2)) != -1:
        raise TemplateSyntaxError(f"template tags like {text[tag:close + 2][:40]!r} are not allowed; "
                                  "use {{ path }}", path=location, token=text[tag:close + 2])
    parts: list[str | _Token] = []
    pos = 0
    while (start := text.find("{{", pos)) != -1:
        end = text.find("}}", start + 2)
        if end == -1:
            raise TemplateSyntaxError(f"unclosed template token {text[start:start + 40]!r}",
                                      path=location, token=text[start:])
        raw = text[start:end + 2]
        inner = text[start + 2:end].strip()
        if not PATH.fullmatch(inner):
            raise TemplateSyntaxError(
                f"template token {raw[:60]!r} is not a plain path (segments of letters, digits, "
                "'_' and '-' separated by '.', none starting with '__')",
                path=location, token=inner)
        if start > pos:
            parts.append(text[pos:start])
        parts.append((inner, raw))
        pos = end + 2
    if pos < len(text):
        parts.append(text[pos:])
    return parts


def join_path(location: str, key: Any) -> str:
    return f"{location}.{key}" if location else str(key)


def template_tokens(value: Any, location: str = "") -> list[tuple[str, str]]:
    """(location, token path) of every token in value, walking dicts and lists."""
    if isinstance(value, str):
        return [(location, part[0]) for part in _parse(value, location) if isinstance(part, tuple)]
    items = value.items() if isinstance(value, Mapping) else enumerate(value) if isinstance(value, list) else ()
    return [found for key, item in items for found in template_tokens(item, join_path(location, key))]


def lookup(context: Mapping, path: str) -> tuple[bool, Any]:
    """Single-pass dotted lookup: dict keys, list indexes for numeric segments; never getattr."""
    current: Any = context
    for segment in path.split(".") if path else ():
        if isinstance(current, Mapping) and segment in current:
            current = current[segment]
        elif isinstance(current, (list, tuple)) and _INDEX.fullmatch(segment) and int(segment) < len(current):
            current = current[int(segment)]
        else:
            return False, None
    return True, current


def text_of(value: Any) -> str:
    """How a value reads when substituted into text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    return str(value)


@dataclass
class Rendered:
    value: Any
    missing: list[str] = field(default_factory=list)


def render(value: Any, context: Mapping, *, secret_nonce: str | None = None) -> Rendered:
    """Render every string in value (dict keys are left alone); never raises for missing values."""
    missing: list[str] = []

    def resolve(path: str, raw: str) -> Any:
        if path.startswith(_SECRET_PREFIX):
            return raw if secret_nonce is None else SECRET_PLACEHOLDER.format(
                nonce=secret_nonce, name=path[len(_SECRET_PREFIX):])
        found, result = lookup(context, path)
        if not found and path not in missing:
            missing.append(path)
        return result

    def walk(item: Any, location: str) -> Any:
        if isinstance(item, Mapping):
            return {key: walk(sub, join_path(location, key)) for key, sub in item.items()}
        if isinstance(item, list):
            return [walk(sub, join_path(location, index)) for index, sub in enumerate(item)]
        if not isinstance(item, str):
            return item
        if "{{" not in item and "{%" not in item:
            return item  # most strings hold no token: nothing to parse
        parts = _parse(item, location)
        tokens = [part for part in parts if isinstance(part, tuple)]
        if len(tokens) == 1 and all(isinstance(part, tuple) or not part.strip() for part in parts):
            if tokens[0][0].startswith(_SECRET_PREFIX) and secret_nonce is None:
                return item
            return resolve(*tokens[0])
        return "".join(text_of(resolve(*part)) if isinstance(part, tuple) else part for part in parts)

    return Rendered(walk(value, ""), missing)
