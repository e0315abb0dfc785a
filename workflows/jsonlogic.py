"""A small, safe JSON Logic evaluator (jsonlogic.com semantics) for trigger_constraints.

Pure and deterministic: rules are data, nothing is executed; nesting is bounded.
"""

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from workflows.problems import Problem

MAX_DEPTH = 64
_INDEX = re.compile(r"[0-9]{1,9}")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


class JsonLogicError(ValueError):
    """An unknown operator, a wrong number of arguments, or a rule nested too deep."""


# --- value helpers (JavaScript-like, as JSON Logic is defined in JavaScript) ------------

def truthy(value: Any) -> bool:
    if isinstance(value, float) and math.isnan(value):
        return False
    if isinstance(value, Mapping):
        return True
    return bool(value)


def _to_number(value: Any) -> float | int:
    """JavaScript Number(): null -> 0, bool -> 0/1, numeric text -> number, else NaN."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return 0
        if _NUMBER.fullmatch(text):
            return int(text) if text.lstrip("+-").isdigit() and len(text) < 4000 else float(text)
    return math.nan


def _arith(op: str, value: Any) -> float | int:
    number = _to_number(value)
    if isinstance(number, float) and math.isnan(number):
        raise JsonLogicError(f"'{op}' needs numbers, got {value!r}")
    return number


def _tidy(number: float | int) -> float | int:
    if isinstance(number, float) and math.isfinite(number) and number.is_integer():
        return int(number)
    return number


def _to_str(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(_tidy(value))
    if isinstance(value, list):
        return ",".join("" if item is None else _to_str(item) for item in value)
    return str(value)


def _loose_equal(a: Any, b: Any) -> bool:
    """JavaScript ==, except that two arrays/objects compare by value."""
    if a is None or b is None:
        return a is None and b is None
    containers = (list, dict)
    if isinstance(a, containers) or isinstance(b, containers):
        if isinstance(a, containers) and isinstance(b, containers):
            return a == b
        return _loose_equal(_to_str(a) if isinstance(a, containers) else a,
                            _to_str(b) if isinstance(b, containers) else b)
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    return _to_number(a) == _to_number(b)


def _strict_equal(a: Any, b: Any) -> bool:
    numeric = (int, float)
    if isinstance(a, numeric) and isinstance(b, numeric) and not isinstance(a, bool) and not isinstance(b, bool):
        return a == b
    return type(a) is type(b) and a == b


def _less(a: Any, b: Any, or_equal: bool) -> bool:
    if not (isinstance(a, str) and isinstance(b, str)):
        a, b = _to_number(a), _to_number(b)
    try:
        return a <= b if or_equal else a < b
    except TypeError:
        return False


def _var(data: Any, path: Any = None, default: Any = None) -> Any:
    if path is None or path == "":
        return data
    current = data
    for segment in str(path).split("."):
        if isinstance(current, Mapping) and segment in current:
            current = current[segment]
        elif isinstance(current, list) and _INDEX.fullmatch(segment) and int(segment) < len(current):
            current = current[int(segment)]
        else:
            return default
    return current


def _missing(data: Any, *keys: Any) -> list:
    if keys and isinstance(keys[0], list):
        keys = tuple(keys[0])
    return [key for key in keys if _var(data, key) in (None, "")]


def _missing_some(data: Any, need: Any, keys: Any) -> list:
    keys = keys if isinstance(keys, list) else [keys]
    missing = _missing(data, keys)
    return [] if len(keys) - len(missing) >= _arith("missing_some", need) else missing


def _substr(text: Any, start: Any, length: Any = None) -> str:
    text = _to_str(text)
    begin = int(_arith("substr", start))
    rest = text[max(len(text) + begin, 0):] if begin < 0 else text[begin:]
    if length is None:
        return rest
    count = int(_arith("substr", length))
    return rest[:max(len(rest) + count, 0)] if count < 0 else rest[:count]


def _div(a: Any, b: Any) -> float | int:
    divisor = _arith("/", b)
    if divisor == 0:
        raise JsonLogicError("'/' by zero")
    return _tidy(_arith("/", a) / divisor)


def _mod(a: Any, b: Any) -> float | int:
    divisor = _arith("%", b)
    if divisor == 0:
        raise JsonLogicError("'%' by zero")
    return _tidy(math.fmod(_arith("%", a), divisor))


def _in(needle: Any, haystack: Any) -> bool:
    if isinstance(haystack, str):
        return _to_str(needle) in haystack
    if isinstance(haystack, list):
        return any(_strict_equal(needle, item) for item in haystack)
    return False


def _extreme(pick: Callable, *values: Any) -> Any:
    return pick(_arith("max/min", value) for value in values) if values else None


def _merge(*values: Any) -> list:
    return [item for value in values for item in (value if isinstance(value, list) else [value])]


# Eager operators: (function taking evaluated arguments, min args, max args or None).
# "var", "missing" and "missing_some" also read data, so they take it first.
_EAGER: dict[str, tuple[Callable[..., Any], int, int | None]] = {
    "==": (_loose_equal, 2, 2),
    "!=": (lambda a, b: not _loose_equal(a, b), 2, 2),
    "===": (_strict_equal, 2, 2),
    "!==": (lambda a, b: not _strict_equal(a, b), 2, 2),
    "!": (lambda a: not truthy(a), 1, 1),
    "!!": (truthy, 1, 1),
    ">": (lambda a, b: _less(b, a, False), 2, 2),
    ">=": (lambda a, b: _less(b, a, True), 2, 2),
    "<": (lambda a, b, c=None: _less(a, b, False) and (c is None or _less(b, c, False)), 2, 3),
    "<=": (lambda a, b, c=None: _less(a, b, True) and (c is None or _less(b, c, True)), 2, 3),
    "max": (lambda *v: _extreme(max, *v), 0, None),
    "min": (lambda *v: _extreme(min, *v), 0, None),
    "+": (lambda *v: _tidy(sum(_arith("+", x) for x in v)), 0, None),
    "-": (lambda a, b=None: _tidy(-_arith("-", a) if b is None else _arith("-", a) - _arith("-", b)), 1, 2),
    "*": (lambda *v: _tidy(math.prod(_arith("*", x) for x in v)), 1, None),
    "/": (_div, 2, 2),
    "%": (_mod, 2, 2),
    "in": (_in, 2, 2),
    "cat": (lambda *v: "".join(_to_str(x) for x in v), 0, None),
    "substr": (_substr, 2, 3),
    "merge": (_merge, 0, None),
    "var": (_var, 0, 2),
    "missing": (_missing, 0, None),
    "missing_some": (_missing_some, 2, 2),
}
_READS_DATA = frozenset({"var", "missing", "missing_some"})
_LAZY_ARITY: dict[str, tuple[int, int | None]] = {
    "if": (0, None), "?:": (3, 3), "or": (1, None), "and": (1, None),
    "map": (2, 2), "filter": (2, 2), "reduce": (2, 3), "all": (2, 2), "some": (2, 2), "none": (2, 2),
}
OPERATORS = frozenset(_EAGER) | frozenset(_LAZY_ARITY)


def _arity(op: str, count: int) -> str | None:
    low, high = _EAGER[op][1:] if op in _EAGER else _LAZY_ARITY[op]
    if count < low or (high is not None and count > high):
        expected = f"{low}" if low == high else f"{low} to {high}" if high is not None else f"at least {low}"
        return f"'{op}' takes {expected} argument(s), got {count}"
    return None


def _split(rule: Mapping) -> tuple[str, list]:
    if len(rule) != 1:
        raise JsonLogicError(f"a rule object must have exactly one key (the operator), got {sorted(rule)}")
    ((op, args),) = rule.items()
    return op, args if isinstance(args, list) else [args]


def apply(rule: Any, data: Any = None, _depth: int = 0) -> Any:
    """Evaluate rule against data. Non-objects are literals; lists evaluate element-wise."""
    if _depth > MAX_DEPTH:
        raise JsonLogicError(f"rule nested deeper than {MAX_DEPTH} levels")
    if isinstance(rule, list):
        return [apply(item, data, _depth + 1) for item in rule]
    if not isinstance(rule, Mapping):
        return rule
    op, args = _split(rule)
    if op not in OPERATORS:
        raise JsonLogicError(f"unknown JSON Logic operator {op!r}")
    if problem := _arity(op, len(args)):
        raise JsonLogicError(problem)

    def run(sub: Any, scope: Any = data) -> Any:
        return apply(sub, scope, _depth + 1)

    if op in _EAGER:
        values = [run(arg) for arg in args]
        function = _EAGER[op][0]
        return function(data, *values) if op in _READS_DATA else function(*values)
    if op in ("if", "?:"):
        for i in range(0, len(args) - 1, 2):
            if truthy(run(args[i])):
                return run(args[i + 1])
        return run(args[-1]) if len(args) % 2 else None
    if op in ("or", "and"):
        value = None
        for arg in args:
            value = run(arg)
            if truthy(value) == (op == "or"):
                return value
        return value
    items = run(args[0])
    items = items if isinstance(items, list) else []
    if op == "map":
        return [run(args[1], item) for item in items]
    if op == "filter":
        return [item for item in items if truthy(run(args[1], item))]
    if op == "reduce":
        accumulator = run(args[2]) if len(args) > 2 else None
        for item in items:
            accumulator = run(args[1], {"current": item, "accumulator": accumulator})
        return accumulator
    results = (truthy(run(args[1], item)) for item in items)
    if op == "all":
        return bool(items) and all(results)
    return any(results) if op == "some" else not any(results)


def validate(rule: Any, path: str, _depth: int = 0) -> list[Problem]:
    """Problems in a rule's shape (unknown operators, wrong argument counts), without evaluating it."""
    if _depth > MAX_DEPTH:
        return [Problem(path, f"rule nested deeper than {MAX_DEPTH} levels")]
    if isinstance(rule, list):
        return [p for i, item in enumerate(rule) for p in validate(item, f"{path}.{i}" if path else str(i), _depth + 1)]
    if not isinstance(rule, Mapping):
        return []
    try:
        op, args = _split(rule)
    except JsonLogicError as error:
        return [Problem(path, str(error))]
    here = f"{path}.{op}" if path else str(op)
    if op not in OPERATORS:
        return [Problem(here, f"unknown JSON Logic operator {op!r}; allowed: {', '.join(sorted(OPERATORS))}")]
    problems = [Problem(here, problem)] if (problem := _arity(op, len(args))) else []
    if isinstance(rule[op], list):
        return problems + [p for i, arg in enumerate(args) for p in validate(arg, f"{here}.{i}", _depth + 1)]
    return problems + validate(rule[op], here, _depth + 1)
