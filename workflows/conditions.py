"""Conditions and their operators (SPEC §2.3): if-else comparisons and event-trigger conditions.

Pure, deterministic, no I/O; operands are rendered by workflows/expressions.py.
"""

import fnmatch
import json
import re
from collections.abc import Mapping
from typing import Any

from workflows.expressions import (
    PATH,
    ExpressionError,
    TemplateSyntaxError,
    join_path,
    lookup,
    render,
    template_tokens,
    text_of,
)
from workflows.problems import Problem

OPERATORS = frozenset({
    "equals", "not_equals", "contains", "not_contains", "greater_than", "less_than",
    "greater_or_equal", "less_or_equal", "exists", "is_empty", "in", "starts_with",
    "ends_with", "matches", "changed", "changed_to",
})
CHANGE_OPERATORS = frozenset({"changed", "changed_to"})
UNARY_OPERATORS = frozenset({"exists", "is_empty", "changed"})
COMBINATORS = ("all", "any", "not")

# Possessive: a long digit string that is not a number fails at once, without giving digits back.
_NUMBER = re.compile(r"[+-]?+(?:[0-9]++(?:\.[0-9]*+)?+|\.[0-9]++)(?:[eE][+-]?+[0-9]++)?+")


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
        return isinstance(other, str) and text_of(left) == text_of(right)
    scalar = (str, int, float)
    if isinstance(left, str) != isinstance(right, str) and isinstance(left, scalar) and isinstance(right, scalar):
        return text_of(left) == text_of(right)
    return left == right


def _contains(operator: str, haystack: Any, needle: Any) -> bool:
    if haystack is None:
        return False
    if isinstance(haystack, (list, tuple)):
        return any(_equal(item, needle) for item in haystack)
    if isinstance(haystack, Mapping):
        return text_of(needle) in haystack
    if isinstance(haystack, (str, int, float)):
        return needle is not None and text_of(needle) in text_of(haystack)
    raise ExpressionError(f"{operator} needs text, a list or an object, got {_show(haystack)}")


def _order(operator: str, left: Any, right: Any, holds: Any) -> bool:
    a, b = _number(left), _number(right)
    if a is None or b is None:
        raise ExpressionError(f"{operator} needs numbers, got {_show(left)} and {_show(right)}")
    return holds(a, b)


def _texts(operator: str, left: Any, right: Any) -> tuple[str, str]:
    if isinstance(left, (dict, list, tuple)) or isinstance(right, (dict, list, tuple)):
        raise ExpressionError(f"{operator} needs text, got {_show(left)} and {_show(right)}")
    return text_of(left), text_of(right)


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


def _operator(condition: Mapping[str, Any]) -> Any:
    return condition.get("operatorName", condition.get("operator"))


def evaluate_condition(condition: Mapping[str, Any], context: Mapping[str, Any],
                       missing: list[str] | None = None) -> bool:
    """An if-else condition: operands are rendered against context, then compared; the paths that
    had no value are added to `missing` (SPEC §2.5: noted on the step)."""
    combined = _combine(condition, lambda sub: evaluate_condition(sub, context, missing))
    if combined is not None:
        return combined
    left, right = render(condition.get("left"), context), render(condition.get("right"), context)
    if missing is not None:
        missing.extend(left.missing + right.missing)
    return compare(_operator(condition), left.value, right.value)


def evaluate_event_condition(condition: Mapping[str, Any], data: Mapping[str, Any],
                             previous: Mapping[str, Any] | None) -> bool:
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
            return validate_condition(condition[key], join_path(path, key), form=form)
        if not isinstance(condition[key], list):
            return [Problem(join_path(path, key), f"'{key}' needs a list of conditions; got {_show(condition[key])}")]
        return [problem for i, sub in enumerate(condition[key])
                for problem in validate_condition(sub, join_path(path, f"{key}.{i}"), form=form)]

    operand, other = ("left", "right") if form == "comparison" else ("field", "value")
    allowed = ("operatorName", "operator", operand, other)
    problems = [Problem(join_path(path, key), f"unknown key '{key}'; allowed: {', '.join(sorted(allowed))}")
                for key in condition if key not in allowed]
    if "operatorName" in condition and "operator" in condition:
        problems.append(Problem(path, "give operatorName or operator, not both"))
    op_path = join_path(path, "operatorName" if form == "comparison" and "operator" not in condition else "operator")
    operator = _operator(condition)
    if operator is None:
        problems.append(Problem(op_path, f"{op_path.rpartition('.')[2]} is required"))
    elif not isinstance(operator, str) or operator not in OPERATORS:
        allowed_ops = ", ".join(sorted(OPERATORS))
        problems.append(Problem(op_path, f"unknown operator {_show(operator)}; allowed: {allowed_ops}"))
    elif operator in CHANGE_OPERATORS and form == "comparison":
        problems.append(Problem(op_path, f"{operator} is only allowed in event-trigger conditions"))
    if operand not in condition:
        problems.append(Problem(join_path(path, operand), f"{operand} is required"))
    elif form == "field" and not (isinstance(condition["field"], str) and PATH.fullmatch(condition["field"])):
        problems.append(Problem(join_path(path, "field"), "field must be a dotted path like 'status' or 'owner.id'; "
                                f"got {_show(condition['field'])}"))
    for key in (operand, other) if form == "comparison" else ():
        try:
            template_tokens(condition.get(key), join_path(path, key))
        except TemplateSyntaxError as error:
            problems.append(Problem(error.path, str(error)))
    if isinstance(operator, str) and operator in OPERATORS - UNARY_OPERATORS and other not in condition:
        problems.append(Problem(join_path(path, other), f"{other} is required for {operator}"))
    return problems
