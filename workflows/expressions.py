"""Templates and conditions (SPEC §2.3, §2.5): pure, deterministic, no I/O.

A template token is a dotted path lookup and nothing else; rendering is a single pass.
"""

import fnmatch
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from relay_common.placeholders import SECRET_PLACEHOLDER
from workflows.problems import Problem

OPERATORS = frozenset({
    "equals", "not_equals", "contains", "not_contains", "greater_than", "less_than",
    "greater_or_equal", "less_or_equal", "exists", "is_empty", "in", "starts_with",
    "ends_with", "matches", "changed", "changed_to",
})
CHANGE_OPERATORS = frozenset({"changed", "changed_to"})
UNARY_OPERATORS = frozenset({"exists", "is_empty", "changed"})
COMBINATORS = ("all", "any", "not")

_PATH = re.compile(r"(?!__)[A-Za-z0-9_-]+(?:\.(?!__)[A-Za-z0-9_-]+)*")
# Possessive: a long digit string that is not a number fails at once, without giving digits back.
_NUMBER = re.compile(r"[+-]?+(?:[0-9]++(?:\.[0-9]*+)?+|\.[0-9]++)(?:[eE][+-]?+[0-9]++)?+")
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
        if not _PATH.fullmatch(inner):
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


def _join(location: str, key: Any) -> str:
    return f"{location}.{key}" if location else str(key)


def template_tokens(value: Any, location: str = "") -> list[tuple[str, str]]:
    """(location, token path) of every token in value, walking dicts and lists."""
    if isinstance(value, str):
        return [(location, part[0]) for part in _parse(value, location) if isinstance(part, tuple)]
    items = value.items() if isinstance(value, Mapping) else enumerate(value) if isinstance(value, list) else ()
    return [found for key, item in items for found in template_tokens(item, _join(location, key))]


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


def _text(value: Any) -> str:
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
            return {key: walk(sub, _join(location, key)) for key, sub in item.items()}
        if isinstance(item, list):
            return [walk(sub, _join(location, index)) for index, sub in enumerate(item)]
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
        return "".join(_text(resolve(*part)) if isinstance(part, tuple) else part for part in parts)

    return Rendered(walk(value, ""), missing)


# --- comparisons -----------------------------------------------------------------------

def _number(value: Any) -> int | float | None:
    """The value as a number when it is one or is a string that spells one; bools are not."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    text = value.strip() if isinstance(value, str) else ""
    if not _NUMBER.fullmatch(text):
        return None
    return int(text) if text.lstrip("+-").isdigit() and len(text) < 4000 else float(text)


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else json.dumps(value, default=str)


def _equal(left: Any, right: Any) -> bool:
    a, b = _number(left), _number(right)
    if a is not None and b is not None:
        return a == b
    if isinstance(left, bool) or isinstance(right, bool):
        if isinstance(left, bool) and isinstance(right, bool):
            return left is right
        other = right if isinstance(left, bool) else left
        return isinstance(other, str) and _text(left) == _text(right)
    scalar = (str, int, float)
    if isinstance(left, str) != isinstance(right, str) and isinstance(left, scalar) and isinstance(right, scalar):
        return _text(left) == _text(right)
    return left == right


def _contains(operator: str, haystack: Any, needle: Any) -> bool:
    if haystack is None:
        return False
    if isinstance(haystack, (list, tuple)):
        return any(_equal(item, needle) for item in haystack)
    if isinstance(haystack, Mapping):
        return _text(needle) in haystack
    if isinstance(haystack, (str, int, float)):
        return needle is not None and _text(needle) in _text(haystack)
    raise ExpressionError(f"{operator} needs text, a list or an object, got {_show(haystack)}")


def _order(operator: str, left: Any, right: Any, holds: Any) -> bool:
    a, b = _number(left), _number(right)
    if a is None or b is None:
        raise ExpressionError(f"{operator} needs numbers, got {_show(left)} and {_show(right)}")
    return holds(a, b)


def _texts(operator: str, left: Any, right: Any) -> tuple[str, str]:
    if isinstance(left, (dict, list, tuple)) or isinstance(right, (dict, list, tuple)):
        raise ExpressionError(f"{operator} needs text, got {_show(left)} and {_show(right)}")
    return _text(left), _text(right)


_COMPARE: dict[str, Any] = {
    "equals": _equal,
    "not_equals": lambda a, b: not _equal(a, b),
    "contains": lambda a, b: _contains("contains", a, b),
    "not_contains": lambda a, b: not _contains("not_contains", a, b),
    "in": lambda a, b: _contains("in", b, a),
    "greater_than": lambda a, b: _order("greater_than", a, b, lambda x, y: x > y),
    "less_than": lambda a, b: _order("less_than", a, b, lambda x, y: x < y),
    "greater_or_equal": lambda a, b: _order("greater_or_equal", a, b, lambda x, y: x >= y),
    "less_or_equal": lambda a, b: _order("less_or_equal", a, b, lambda x, y: x <= y),
    "exists": lambda a, _: a is not None,
    "is_empty": lambda a, _: a is None or (isinstance(a, (str, list, tuple, dict)) and len(a) == 0),
    "starts_with": lambda a, b: a is not None and str.startswith(*_texts("starts_with", a, b)),
    "ends_with": lambda a, b: a is not None and str.endswith(*_texts("ends_with", a, b)),
    "matches": lambda a, b: a is not None and fnmatch.fnmatchcase(*_texts("matches", a, b)),
}


def compare(operator: str, left: Any, right: Any) -> bool:
    """Apply one SPEC §2.3 operator to two already-rendered values."""
    if isinstance(operator, str) and operator in CHANGE_OPERATORS:
        raise ExpressionError(f"{operator} is only allowed in event-trigger conditions")
    if not isinstance(operator, str) or operator not in _COMPARE:
        raise ExpressionError(f"unknown operator {_show(operator)}; allowed: {', '.join(sorted(OPERATORS))}")
    return bool(_COMPARE[operator](left, right))


# --- conditions ------------------------------------------------------------------------

def _combine(condition: Any, evaluate: Any) -> bool | None:
    """all/any/not through `evaluate(sub)`; None when condition is a plain comparison."""
    if not isinstance(condition, Mapping):
        raise ExpressionError(f"a condition must be an object, got {_show(condition)}")
    for key in COMBINATORS:
        if key in condition:
            subs = condition[key]
            if key == "not":
                return not evaluate(subs)
            if not isinstance(subs, list):
                raise ExpressionError(f"'{key}' needs a list of conditions")
            return all(map(evaluate, subs)) if key == "all" else any(map(evaluate, subs))
    return None


def _operator(condition: Mapping) -> Any:
    return condition.get("operatorName", condition.get("operator"))


def evaluate_condition(condition: Mapping, context: Mapping, missing: list[str] | None = None) -> bool:
    """An if-else condition: operands are rendered against context, then compared; the paths that
    had no value are added to `missing` (SPEC §2.5: noted on the step)."""
    combined = _combine(condition, lambda sub: evaluate_condition(sub, context, missing))
    if combined is not None:
        return combined
    left, right = render(condition.get("left"), context), render(condition.get("right"), context)
    if missing is not None:
        missing.extend(left.missing + right.missing)
    return compare(_operator(condition), left.value, right.value)


def evaluate_event_condition(condition: Mapping, data: Mapping, previous: Mapping | None) -> bool:
    """An event-trigger condition: `field` is a dotted path into the event's data."""
    combined = _combine(condition, lambda sub: evaluate_event_condition(sub, data, previous))
    if combined is not None:
        return combined
    path, operator = condition.get("field"), _operator(condition)
    if not isinstance(path, str) or not path:
        raise ExpressionError(f"an event condition needs a field path, got {_show(path)}")
    has_now, now = lookup(data, path)
    if not (isinstance(operator, str) and operator in CHANGE_OPERATORS):
        return compare(operator, now, condition.get("value"))
    has_before, before = lookup(previous, path) if previous is not None else (False, None)
    has_now, has_before = has_now and now is not None, has_before and before is not None
    changed = has_now != has_before or (has_now and not _equal(before, now))
    return changed and (operator == "changed" or _equal(now, condition.get("value")))


def validate_condition(condition: Any, path: str, *, form: str) -> list[Problem]:
    """Problems with a condition's shape; form is "comparison" (if-else) or "field" (event)."""
    if not isinstance(condition, Mapping):
        return [Problem(path, f"a condition must be an object; got {_show(condition)}")]
    combinators = [key for key in COMBINATORS if key in condition]
    if combinators:
        key = combinators[0]
        if len(condition) != 1:
            return [Problem(path, f"a combinator condition has exactly one key ({'/'.join(COMBINATORS)})")]
        if key == "not":
            return validate_condition(condition[key], _join(path, key), form=form)
        if not isinstance(condition[key], list):
            return [Problem(_join(path, key), f"'{key}' needs a list of conditions; got {_show(condition[key])}")]
        return [problem for i, sub in enumerate(condition[key])
                for problem in validate_condition(sub, _join(path, f"{key}.{i}"), form=form)]

    operand, other = ("left", "right") if form == "comparison" else ("field", "value")
    allowed = ("operatorName", "operator", operand, other)
    problems = [Problem(_join(path, key), f"unknown key '{key}'; allowed: {', '.join(sorted(allowed))}")
                for key in condition if key not in allowed]
    if "operatorName" in condition and "operator" in condition:
        problems.append(Problem(path, "give operatorName or operator, not both"))
    op_path = _join(path, "operatorName" if form == "comparison" and "operator" not in condition else "operator")
    operator = _operator(condition)
    if operator is None:
        problems.append(Problem(op_path, f"{op_path.rpartition('.')[2]} is required"))
    elif not isinstance(operator, str) or operator not in OPERATORS:
        allowed_ops = ", ".join(sorted(OPERATORS))
        problems.append(Problem(op_path, f"unknown operator {_show(operator)}; allowed: {allowed_ops}"))
    elif operator in CHANGE_OPERATORS and form == "comparison":
        problems.append(Problem(op_path, f"{operator} is only allowed in event-trigger conditions"))
    if operand not in condition:
        problems.append(Problem(_join(path, operand), f"{operand} is required"))
    elif form == "field" and not (isinstance(condition["field"], str) and _PATH.fullmatch(condition["field"])):
        problems.append(Problem(_join(path, "field"), "field must be a dotted path like 'status' or 'owner.id'; "
                                f"got {_show(condition['field'])}"))
    for key in (operand, other) if form == "comparison" else ():
        try:
            template_tokens(condition.get(key), _join(path, key))
        except TemplateSyntaxError as error:
            problems.append(Problem(error.path, str(error)))
    if isinstance(operator, str) and operator in OPERATORS - UNARY_OPERATORS and other not in condition:
        problems.append(Problem(_join(path, other), f"{other} is required for {operator}"))
    return problems
