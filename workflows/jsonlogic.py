"""A small, safe JSON Logic evaluator (jsonlogic.com semantics) for trigger_constraints.

Pure and deterministic: rules are data, nothing is executed; nesting is bounded, and so is
the cost of one evaluation (a `Budget` of operations, string lengths and list lengths, checked
before anything large is built). A rule that cannot stay within the budget even before it reads
any event data is refused at create time (`validate` probes it: see `_probe`).
"""

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from workflows.problems import Problem

MAX_DEPTH = 64
MAX_OPERATIONS = 20_000  # rule nodes evaluated + units of size-proportional work (~40 ms at worst)
MAX_STRING = 64 * 1024  # characters in a string the rule builds (cat, substr, text of a list)
MAX_LIST = 10_000  # items in a list the rule builds (map, filter, merge, missing)
_CHARS_PER_UNIT = 64  # one operation is charged per this many characters copied or compared
_SAFE_INT = 2 ** 53  # arithmetic follows JavaScript numbers: beyond this, integers become floats
_INDEX = re.compile(r"[0-9]{1,9}")
# Possessive: a long digit string that is not a number fails at once, without giving digits back.
_NUMBER = re.compile(r"[+-]?+(?:[0-9]++(?:\.[0-9]*+)?+|\.[0-9]++)(?:[eE][+-]?+[0-9]++)?+")


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

    def __init__(self, operations: int = MAX_OPERATIONS, *, probe: bool = False,
                 reason: str = f"the rule needs more than {MAX_OPERATIONS} operations") -> None:
        self.left = operations
        self.probe = probe
        self.reason = reason

    def charge(self, units: int = 1) -> None:
        self.left -= units
        if self.left < 0:
            raise BudgetExceeded(self.reason)

    def chars(self, count: int) -> None:
        """Account for a string of `count` characters about to be built."""
        if count > MAX_STRING:
            raise BudgetExceeded(f"the rule builds a string longer than {MAX_STRING} characters")
        self.charge(1 + count // _CHARS_PER_UNIT)

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
            budget.charge(len(node) // _CHARS_PER_UNIT)
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


def _list_text(value: list) -> str:
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


def _missing(budget: Budget, data: Any, *keys: Any) -> list:
    if keys and isinstance(keys[0], list):
        keys = tuple(keys[0])
    budget.items(len(keys))
    return [key for key in keys if _var(budget, data, key) in (None, "")]


def _missing_some(budget: Budget, data: Any, need: Any, keys: Any) -> list:
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
        budget.charge(len(haystack) // _CHARS_PER_UNIT)
        return _to_str(needle, budget) in haystack
    if isinstance(haystack, list):
        budget.charge(len(haystack))
        return any(_strict_equal(budget, needle, item) for item in haystack)
    return False


def _extreme(pick: Callable, *values: Any) -> Any:
    return pick(_arith("max/min", value) for value in values) if values else None


def _merge(budget: Budget, *values: Any) -> list:
    budget.items(sum(len(value) if isinstance(value, list) else 1 for value in values))  # before building
    return [item for value in values for item in (value if isinstance(value, list) else [value])]


# Eager operators: (function taking evaluated arguments, min args, max args or None).
# Those in _SIZED take the budget first; "var", "missing" and "missing_some" also read data,
# so they take the budget and the data first.
_EAGER: dict[str, tuple[Callable[..., Any], int, int | None]] = {
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
_SIZED = frozenset({"==", "!=", "===", "!==", "in", "cat", "substr", "merge"})
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


def apply(rule: Any, data: Any = None, budget: Budget | None = None) -> Any:
    """Evaluate rule against data. Non-objects are literals; lists evaluate element-wise.
    Raises BudgetExceeded (a JsonLogicError) as soon as the evaluation would cost more than
    `budget` (a fresh `Budget()` by default)."""
    return _eval(rule, data, 0, budget or Budget())


def _eval(rule: Any, data: Any, depth: int, budget: Budget) -> Any:
    budget.charge()
    if depth > MAX_DEPTH:
        raise JsonLogicError(f"rule nested deeper than {MAX_DEPTH} levels")
    if isinstance(rule, list):
        return [_at(i, item, data, depth, budget) for i, item in enumerate(rule)]
    if not isinstance(rule, Mapping):
        return rule
    op, args = _split(rule)
    if op not in OPERATORS:
        raise JsonLogicError(f"unknown JSON Logic operator {op!r}")
    if problem := _arity(op, len(args)):
        raise JsonLogicError(problem)
    try:
        return _operate(op, args, isinstance(rule[op], list), data, depth, budget)
    except BudgetExceeded as exc:
        exc.trail.insert(0, op)
        raise


def _at(index: int | None, rule: Any, data: Any, depth: int, budget: Budget) -> Any:
    """Evaluate a sub-rule; a probe (create time) goes on past its errors, to see every part's cost."""
    try:
        return _eval(rule, data, depth + 1, budget)
    except BudgetExceeded as exc:
        if index is not None:
            exc.trail.insert(0, str(index))
        raise
    except Exception:
        if budget.probe:
            return None
        raise


def _operate(op: str, args: list, listed: bool, data: Any, depth: int, budget: Budget) -> Any:
    def run(i: int, scope: Any = data) -> Any:
        return _at(i if listed else None, args[i], scope, depth, budget)

    if op in _EAGER:
        values = [run(i) for i in range(len(args))]
        for value in values:  # reading, comparing or converting a string costs its length
            if isinstance(value, str):
                budget.charge(len(value) // _CHARS_PER_UNIT)
        function = _EAGER[op][0]
        if op in _READS_DATA:
            return function(budget, data, *values)
        return function(budget, *values) if op in _SIZED else function(*values)
    if op in ("if", "?:"):
        return _probe_if(args, run, budget) if budget.probe else _if(args, run)
    if op in ("or", "and"):
        value = None
        results = (run(i) for i in range(len(args)))
        for value in list(results) if budget.probe else results:  # a probe pays for every argument
            if truthy(value) == (op == "or"):
                return value
        return value
    items = run(0)
    items = items if isinstance(items, list) else []
    if op in ("map", "filter"):
        budget.items(len(items))  # the most it can build
        if op == "map":
            return [run(1, item) for item in items]
        return [item for item in items if truthy(run(1, item))]
    if op == "reduce":
        accumulator = run(2) if len(args) > 2 else None
        for item in items:
            accumulator = run(1, {"current": item, "accumulator": accumulator})
        return accumulator
    results = (truthy(run(1, item)) for item in items)
    if budget.probe:
        results = iter(list(results))
    if op == "all":
        return bool(items) and all(results)
    return any(results) if op == "some" else not any(results)


def _if(args: list, run: Callable[..., Any]) -> Any:
    for i in range(0, len(args) - 1, 2):
        if truthy(run(i)):
            return run(i + 1)
    return run(len(args) - 1) if len(args) % 2 else None


def _probe_if(args: list, run: Callable[..., Any], budget: Budget) -> Any:
    """Every condition is paid for; of the branches, only one ever runs: each is tried with
    what is left, and the dearest is charged. The value is that of the branch chosen."""
    hits = [truthy(run(i)) for i in range(0, len(args) - 1, 2)]
    branches = [i + 1 for i in range(0, len(args) - 1, 2)] + ([len(args) - 1] if len(args) % 2 else [])
    chosen = next((2 * k + 1 for k, hit in enumerate(hits) if hit), len(args) - 1 if len(args) % 2 else None)
    start, dearest, value = budget.left, 0, None
    for i in branches:
        budget.left = start
        result = run(i)
        dearest = max(dearest, start - budget.left)
        if i == chosen:
            value = result
    budget.left = start - dearest
    return value


def validate(rule: Any, path: str) -> list[Problem]:
    """Problems in a rule's shape (unknown operators, wrong argument counts), then, if it has
    none, whether it can stay within the evaluation budget (see `probe`)."""
    return _shape(rule, path) or probe(rule, path)


def probe(rule: Any, path: str) -> list[Problem]:
    """Refuse a rule that exceeds the budget whatever the event says.

    The rule is evaluated once, in probe mode, against empty data (every `var` is null, so a
    map/filter/reduce/all/some/none over event data runs zero times): what it spends is what
    it spends on its own literals. Probe mode pays for every argument of and/or, every item
    of all/some/none, every condition of if/?: and the dearest of its branches (only one ever
    runs), and goes on past errors (a sub-rule that errors is null). So a refused rule exceeds
    the budget on every event that takes its dearest branch; a rule that passes may still
    exceed it on some event's data, and then counts as false at run time (see BudgetExceeded).
    """
    try:
        _eval(rule, {}, 0, Budget(probe=True))
    except BudgetExceeded as exc:
        return [Problem(exc.where(path), f"{exc} on any event (the limits are {MAX_OPERATIONS} operations, "
                                         f"{MAX_STRING} characters per string, {MAX_LIST} items per list)")]
    except Exception:  # noqa: BLE001 - an error is the rule's answer (false), not a refusal
        pass
    return []


def _shape(rule: Any, path: str, _depth: int = 0) -> list[Problem]:
    if _depth > MAX_DEPTH:
        return [Problem(path, f"rule nested deeper than {MAX_DEPTH} levels")]
    if isinstance(rule, list):
        return [p for i, item in enumerate(rule) for p in _shape(item, f"{path}.{i}" if path else str(i), _depth + 1)]
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
        return problems + [p for i, arg in enumerate(args) for p in _shape(arg, f"{here}.{i}", _depth + 1)]
    return problems + _shape(rule[op], here, _depth + 1)
