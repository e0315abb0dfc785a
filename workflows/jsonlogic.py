"""A small, safe JSON Logic evaluator (jsonlogic.com semantics) for trigger_constraints.

Pure and deterministic: rules are data, nothing is executed; nesting is bounded, and so is
the cost of one evaluation (a `Budget` of operations, string lengths and list lengths, checked
before anything large is built). A rule that cannot stay within the budget even before it reads
any event data is refused at create time (`validate` probes it: see `_probe`).
"""

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from workflows.jsonlogic_operators import (
    CHARS_PER_UNIT,
    EAGER,
    MAX_DEPTH,
    MAX_LIST,
    MAX_STRING,
    JsonLogicError,
)
from workflows.jsonlogic_operators import (
    MAX_OPERATIONS as MAX_OPERATIONS,  # re-exported: the budget callers share per event
)
from workflows.jsonlogic_operators import (
    Budget as Budget,  # re-exported: callers hand one evaluation's budget in
)
from workflows.jsonlogic_operators import (
    BudgetExceeded as BudgetExceeded,  # re-exported: what callers catch
)
from workflows.jsonlogic_operators import (
    truthy as truthy,  # re-exported: JsonLogic's truth, used by callers
)
from workflows.problems import Problem

SIZED = frozenset({"==", "!=", "===", "!==", "in", "cat", "substr", "merge"})
READS_DATA = frozenset({"var", "missing", "missing_some"})
_LAZY_ARITY: dict[str, tuple[int, int | None]] = {
    "if": (0, None), "?:": (3, 3), "or": (1, None), "and": (1, None),
    "map": (2, 2), "filter": (2, 2), "reduce": (2, 3), "all": (2, 2), "some": (2, 2), "none": (2, 2),
}
OPERATORS = frozenset(EAGER) | frozenset(_LAZY_ARITY)


def _arity(op: str, count: int) -> str | None:
    low, high = EAGER[op][1:] if op in EAGER else _LAZY_ARITY[op]
    if count < low or (high is not None and count > high):
        expected = f"{low}" if low == high else f"{low} to {high}" if high is not None else f"at least {low}"
        return f"'{op}' takes {expected} argument(s), got {count}"
    return None


def _split(rule: Mapping[str, Any]) -> tuple[str, list[Any]]:
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


def _operate(op: str, args: list[Any], listed: bool, data: Any, depth: int, budget: Budget) -> Any:
    def run(i: int, scope: Any = data) -> Any:
        return _at(i if listed else None, args[i], scope, depth, budget)

    if op in EAGER:
        values = [run(i) for i in range(len(args))]
        for value in values:  # reading, comparing or converting a string costs its length
            if isinstance(value, str):
                budget.charge(len(value) // CHARS_PER_UNIT)
        function = EAGER[op][0]
        if op in READS_DATA:
            return function(budget, data, *values)
        return function(budget, *values) if op in SIZED else function(*values)
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
    holds: Iterator[bool] = (truthy(run(1, item)) for item in items)
    if budget.probe:
        holds = iter(list(holds))
    if op == "all":
        return bool(items) and all(holds)
    return any(holds) if op == "some" else not any(holds)


def _if(args: list[Any], run: Callable[..., Any]) -> Any:
    for i in range(0, len(args) - 1, 2):
        if truthy(run(i)):
            return run(i + 1)
    return run(len(args) - 1) if len(args) % 2 else None


def _probe_if(args: list[Any], run: Callable[..., Any], budget: Budget) -> Any:
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
