"""`workflows/` is passed through the sandbox (worker.py `workflow_runner`): one import per process,
shared by every run. That is safe only while no run can change module state and no workflow code
reads the clock, randomness or the environment; these tests hold both."""

from __future__ import annotations

import ast
import copy
import inspect
import sys
import types
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from tests.workflows.test_replay import HISTORIES, RECORDED
from worker import workflow_runner
from workflows.interpreter import RelayWorkflow

ROOT = Path(__file__).parents[2] / "workflows"
# What differs between a run and its replay (workflow.now(), workflow.uuid4() and workflow.random()
# are the deterministic ones), by the full name an import gives it; "x.*" is anything in module x.
NONDETERMINISTIC = {"datetime.datetime.now", "datetime.datetime.utcnow", "datetime.datetime.today",
                    "datetime.date.today", "time.time", "time.time_ns", "time.monotonic", "time.monotonic_ns",
                    "time.perf_counter", "time.perf_counter_ns", "uuid.uuid1", "uuid.uuid4", "os.getenv",
                    "os.environ", "os.urandom", "random.*", "secrets.*"}


def _imported_names(tree: ast.Module) -> dict[str, str]:
    """Local name → the full name it stands for: `import datetime as dt` gives dt → datetime,
    `from time import time` gives time → time.time."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _full_name(node: ast.expr, names: dict[str, str]) -> str | None:
    """`dt.datetime.now` → "datetime.datetime.now" (through the imports), None when not a dotted name."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([names.get(node.id, node.id), *reversed(parts)])


def _forbidden(name: str) -> bool:
    return name in NONDETERMINISTIC or any(
        name.startswith(prefix[:-1]) for prefix in NONDETERMINISTIC if prefix.endswith(".*"))


def nondeterministic_uses(source: str) -> list[str]:
    """Uses in `source` of what NONDETERMINISTIC names, however imported, and every `global` statement."""
    tree = ast.parse(source)
    names, found = _imported_names(tree), []
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            found.append(f"line {node.lineno}: global {', '.join(node.names)}")
        elif isinstance(node, (ast.Attribute, ast.Name)) and isinstance(node.ctx, ast.Load):
            name = _full_name(node, names)
            if name is not None and _forbidden(name):
                found.append(f"line {node.lineno}: {name}")
    return sorted(set(found), key=lambda f: (int(f.split()[1].rstrip(":")), f))


@pytest.mark.parametrize("path", sorted(ROOT.glob("*.py")), ids=lambda p: p.name)
def test_workflow_code_reads_no_clock_randomness_or_environment(path: Path):
    assert nondeterministic_uses(path.read_text()) == []


def test_the_scan_finds_clock_reads_however_imported_and_a_global():
    source = ("import datetime\nimport datetime as dt\nimport os\nfrom time import time\nfrom uuid import uuid4\n"
              "X = 0\ndef f():\n    global X\n    a = datetime.datetime.now()\n    b = dt.datetime.utcnow()\n"
              "    c = time() + random.random()\n    return uuid4(), os.environ.get('A'), dt.timedelta(1)\n")
    assert nondeterministic_uses(source) == [
        "line 8: global X", "line 9: datetime.datetime.now", "line 10: datetime.datetime.utcnow",
        "line 11: random.random", "line 11: time.time", "line 12: os.environ", "line 12: uuid.uuid4"]


def _snapshot(value: object) -> object:
    """Containers by value (a deep copy, compared with ==: a change deep inside is seen), anything else by repr."""
    if isinstance(value, (dict, list, set, tuple, frozenset)):
        return copy.deepcopy(value)
    return repr(value)


def module_state() -> dict[str, object]:
    """Every value a `workflows.*` module holds (and the plain attributes of its classes): what one
    run could leave behind for the next."""
    state: dict[str, object] = {}
    for name, module in sorted(sys.modules.items()):
        if not (name == "workflows" or name.startswith("workflows.")) or module is None:
            continue
        for attribute, value in vars(module).items():
            if attribute.startswith("__") or isinstance(value, types.ModuleType):
                continue
            if inspect.isclass(value) and value.__module__ == name:
                for field, held in vars(value).items():
                    if not field.startswith("__") and not callable(held) and not isinstance(held, property):
                        state[f"{name}.{attribute}.{field}"] = _snapshot(held)
            elif not callable(value):
                state[f"{name}.{attribute}"] = _snapshot(value)
    return state


async def replay_all() -> None:
    replayer = Replayer(workflows=RECORDED, data_converter=pydantic_data_converter, workflow_runner=workflow_runner())
    for path in HISTORIES:
        await replayer.replay_workflow(WorkflowHistory.from_json(path.stem, path.read_text()))


async def test_runs_of_every_block_kind_leave_the_modules_as_they_were():
    """Every recorded history (each block kind, loops, calls, approvals, flow control) replayed on the
    worker's sandbox, which shares the imported `workflows` modules between runs."""
    before = module_state()
    await replay_all()
    assert module_state() == before


async def test_the_state_check_sees_a_run_that_changes_a_module(monkeypatch):
    """Proof that the check above can fail: a step that writes into a module's dict is seen."""
    from workflows import aliases

    before = module_state()
    monkeypatch.setitem(aliases.CAMEL_CASE, "leftOver", "left_over")  # what a careless run could do
    changed = {key for key, value in module_state().items() if before.get(key) != value}
    assert changed == {"workflows.aliases.CAMEL_CASE"}


def test_a_cached_duration_does_not_answer_for_a_boolean():
    """parse_duration's cache is shared by a worker's runs: `True == 1.0` as a key must not let a
    run that parses True get the 1 s another run cached (on a fresh worker, True is refused)."""
    from workflows.durations import DurationError, parse_duration

    assert parse_duration(1.0).total_seconds() == 1 and parse_duration(0.0).total_seconds() == 0
    with pytest.raises(DurationError):
        parse_duration(True)
    with pytest.raises(DurationError):
        parse_duration(False)
    for rendered in ([1], {"s": 1}, None):  # what a template can give: refused as a user's error, not a TypeError
        with pytest.raises(DurationError):
            parse_duration(rendered)


@pytest.mark.parametrize("reimport", [False, True], ids=["shared", "reimported"])
async def test_the_worker_sandbox_imports_the_interpreter_once(monkeypatch, reimport):
    """What the sharing buys: replaying runs defines RelayWorkflow again (`@workflow.defn` on a fresh
    import of workflows/interpreter.py) with the SDK's default, never with the worker's sandbox."""
    from temporalio.workflow import _Definition

    defined = []
    apply = _Definition._apply_to_class
    monkeypatch.setattr(_Definition, "_apply_to_class", staticmethod(
        lambda cls, **kw: (defined.append(cls.__name__), apply(cls, **kw))[1]))
    replayer = Replayer(workflows=[RelayWorkflow], data_converter=pydantic_data_converter,
                        workflow_runner=workflow_runner(reimport=reimport))
    for path in HISTORIES[:3]:
        await replayer.replay_workflow(WorkflowHistory.from_json(path.stem, path.read_text()))
    if reimport:
        assert defined.count("RelayWorkflow") >= 3  # at least once per run
    else:
        assert defined.count("RelayWorkflow") == 0


async def test_the_sandbox_compiles_its_code_strings_once(monkeypatch):
    """worker.py `compile_sandbox_calls_once`: the SDK's sandbox still runs its calls with `exec` of
    a code string looked up in its module (so the replacement is what it calls), each string is
    compiled once however many activations and payloads, and the runs replay as before."""
    import builtins

    from temporalio.worker.workflow_sandbox import _runner

    import worker

    assert "exec(code, self.globals_and_locals, self.globals_and_locals)" in inspect.getsource(
        _runner._Instance._run_code), "the SDK changed how its sandbox runs code: see worker.py"
    compiles = []
    compile_ = builtins.compile
    monkeypatch.setattr(builtins, "compile", lambda *a, **k: (compiles.append(a[0]), compile_(*a, **k))[1])
    worker._compiled.cache_clear()
    await replay_all()
    assert _runner.exec is worker._exec_compiled_once
    sandbox_strings = [source for source in compiles if isinstance(source, str) and "__temporal_" in source]
    assert sandbox_strings and len(sandbox_strings) == len(set(sandbox_strings)) <= 10  # a few per workflow type
    assert worker._compiled.cache_info().hits > 10 * len(HISTORIES)
