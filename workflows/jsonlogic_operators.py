"""JSON Logic's values and eager operators (JavaScript-like, as JSON Logic is defined in JavaScript),
and the budget that bounds one evaluation (workflows/jsonlogic.py evaluates rules with them).
"""

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

MAX_DEPTH = 64
MAX_OPERATIONS = 20_000  # rule nodes evaluated + units of size-proportional work (~40 ms at worst)
MAX_STRING = 64 * 1024  # characters in a string the rule builds (cat, substr, text of a list)
MAX_LIST = 10_000  # items in a list the rule builds (map, filter, merge, missing)
CHARS_PER_UNIT = 64  # one operation is charged per this many characters copied or compared
_SAFE_INT = 2 ** 53  # arithmetic follows JavaScript numbers: beyond this, integers become floats
_INDEX = re.compile(r"[0-9]{1,9}")
_NUMBER = re.compile(r"[+-]?+(?:[0-9]++(?:\.[0-9]*+)?+|\.[0-9]++)(?:[eE][+-]?+[0-9]++)?+")  # no backtracking


class JsonLogicError(ValueError):
    """An unknown operator, a wrong number of arguments, or a rule nested too deep."""


class BudgetExceeded(JsonLogicError):
    """The evaluation reached its cost bound. `trail` is the path (operators and argument
    indexes) from the rule's root to the node being evaluated when it did."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.trail: list[str] = []

    def where(self, root: str) -> str:
        return ".".join([root, *self.trail]) if root else ".".join(self.trail)


class Budget:
    """What one evaluation may still spend. `probe` is the create-time mode of `_probe`."""

    __slots__ = ("left", "probe", "reason")

    def __init__(self, operations: int = MAX_OPERATIONS, *, probe: bool = False, reason: str = "") -> None:
        self.left, self.probe = operations, probe
        self.reason = reason or f"the rule needs more than {MAX_OPERATIONS} operations"

    def charge(self, units: int = 1) -> None:
        self.left -= units
        if self.left < 0:
            raise BudgetExceeded(self.reason)

    def chars(self, count: int) -> None:
        """Account for a string of `count` characters about to be built."""
        if count > MAX_STRING:
            raise BudgetExceeded(f"the rule builds a string longer than {MAX_STRING} characters")
        self.charge(1 + count // CHARS_PER_UNIT)

    def items(self, count: int) -> None:
        """Account for a list of `count` items about to be built."""
        if count > MAX_LIST:
            raise BudgetExceeded(f"the rule builds a list longer than {MAX_LIST} items")
        self.charge(1 + count)


def _measure(value: Any, budget: Budget) -> int:
    """Walk `value` (iteratively, charging each node and its text) before a whole-value
    operation (deep comparison, text of an object); a shared sub-list counts every time it is
    reached, so a value built by doubling references cannot hide its real size. Returns an
    estimate of its text length."""
    stack, size = [value], 0
    while stack:
        node = stack.pop()
        budget.charge()
        if isinstance(node, str):
            size += len(node) + 2
            budget.charge(len(node) // CHARS_PER_UNIT)
        elif isinstance(node, Mapping):
            size += 2
            for key, item in node.items():
                stack.append(item)
                size += len(str(key)) + 4
        elif isinstance(node, list):
            size += 2
            stack.extend(node)
        else:
            size += len(_plain_str(node)) if isinstance(node, (int, float)) else 5
    return size


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
    if isinstance(number, int) and abs(number) > _SAFE_INT:
        # JavaScript numbers: a huge integer is a float (so repeated '*' cannot grow a bignum)
        try:
            return float(number)
        except OverflowError:
            return math.copysign(math.inf, number)
    return number


def _tidy(number: float | int) -> float | int:
    if isinstance(number, float) and math.isfinite(number) and number.is_integer():
        return int(number)
    return number


def _to_str(value: Any, budget: Budget) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(_tidy(value))
    if isinstance(value, (list, Mapping)):
        budget.chars(_measure(value, budget))  # before the text is built
        return _list_text(value) if isinstance(value, list) else str(value)
    return str(value)


def _list_text(value: list[Any]) -> str:
    return ",".join("" if item is None else _list_text(item) if isinstance(item, list)
                    else _plain_str(item) for item in value)


def _plain_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(_tidy(value)) if isinstance(value, float) else str(value)


def _loose_equal(budget: Budget, a: Any, b: Any) -> bool:
    """JavaScript ==, except that two arrays/objects compare by value."""
    if a is None or b is None:
        return a is None and b is None
    containers = (list, dict)
    if isinstance(a, containers) or isinstance(b, containers):
        if isinstance(a, containers) and isinstance(b, containers):
            _measure(a, budget), _measure(b, budget)
            return a == b
        return _loose_equal(budget, _to_str(a, budget) if isinstance(a, containers) else a,
                            _to_str(b, budget) if isinstance(b, containers) else b)
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    return _to_number(a) == _to_number(b)


def _strict_equal(budget: Budget, a: Any, b: Any) -> bool:
    numeric = (int, float)
    if isinstance(a, numeric) and isinstance(b, numeric) and not isinstance(a, bool) and not isinstance(b, bool):
        return a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, dict)):
        _measure(a, budget), _measure(b, budget)
    return a == b


def _less(a: Any, b: Any, or_equal: bool) -> bool:
    if not (isinstance(a, str) and isinstance(b, str)):
        a, b = _to_number(a), _to_number(b)
    try:
        return a <= b if or_equal else a < b
    except TypeError:
        return False


def _var(budget: Budget, data: Any, path: Any = None, default: Any = None) -> Any:
    if path is None or path == "":
        return data
    current = data
    for segment in _to_str(path, budget).split("."):
        budget.charge()
        if isinstance(current, Mapping) and segment in current:
            current = current[segment]
        elif isinstance(current, list) and _INDEX.fullmatch(segment) and int(segment) < len(current):
            current = current[int(segment)]
        else:
            return default
    return current


def _missing(budget: Budget, data: Any, *keys: Any) -> list[Any]:
    if keys and isinstance(keys[0], list):
        keys = tuple(keys[0])
    budget.items(len(keys))
    return [key for key in keys if _var(budget, data, key) in (None, "")]


def _missing_some(budget: Budget, data: Any, need: Any, keys: Any) -> list[Any]:
    keys = keys if isinstance(keys, list) else [keys]
    missing = _missing(budget, data, keys)
    return [] if len(keys) - len(missing) >= _arith("missing_some", need) else missing


def _substr(budget: Budget, text: Any, start: Any, length: Any = None) -> str:
    text = _to_str(text, budget)
    begin = int(_arith("substr", start))
    rest = text[max(len(text) + begin, 0):] if begin < 0 else text[begin:]
    if length is not None:
        count = int(_arith("substr", length))
        rest = rest[:max(len(rest) + count, 0)] if count < 0 else rest[:count]
    budget.chars(len(rest))
    return rest


def _cat(budget: Budget, *values: Any) -> str:
    parts = [_to_str(value, budget) for value in values]
    budget.chars(sum(len(part) for part in parts))  # before the join allocates
    return "".join(parts)


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


def _in(budget: Budget, needle: Any, haystack: Any) -> bool:
    if isinstance(haystack, str):
        budget.charge(len(haystack) // CHARS_PER_UNIT)
        return _to_str(needle, budget) in haystack
    if isinstance(haystack, list):
        budget.charge(len(haystack))
        return any(_strict_equal(budget, needle, item) for item in haystack)
    return False


def _extreme(pick: Callable[..., Any], *values: Any) -> Any:
    return pick(_arith("max/min", value) for value in values) if values else None


def _merge(budget: Budget, *values: Any) -> list[Any]:
    budget.items(sum(len(value) if isinstance(value, list) else 1 for value in values))  # before building
    return [item for value in values for item in (value if isinstance(value, list) else [value])]


# Eager operators: (function taking evaluated arguments, min args, max args or None).
# Those in SIZED take the budget first; "var", "missing" and "missing_some" also read data,
# so they take the budget and the data first.
EAGER: dict[str, tuple[Callable[..., Any], int, int | None]] = {
    "==": (_loose_equal, 2, 2),
    "!=": (lambda budget, a, b: not _loose_equal(budget, a, b), 2, 2),
    "===": (_strict_equal, 2, 2),
    "!==": (lambda budget, a, b: not _strict_equal(budget, a, b), 2, 2),
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
    "cat": (_cat, 0, None),
    "substr": (_substr, 2, 3),
    "merge": (_merge, 0, None),
    "var": (_var, 0, 2),
    "missing": (_missing, 0, None),
    "missing_some": (_missing_some, 2, 2),
}
