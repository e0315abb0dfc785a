"""`workflows/` is passed through the sandbox (worker.py `workflow_runner`): one import per process,
shared by every run. That is safe only while no run can change module state and no workflow code
reads the clock, randomness or the environment; these tests hold both."""

from __future__ import annotations

import ast
import inspect
import sys
import types
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from worker import workflow_runner
from workflows.interpreter import RelayWorkflow

ROOT = Path(__file__).parents[2] / "workflows"
HISTORIES = sorted((Path(__file__).parents[1] / "histories").glob("*.json"))
# Calls whose answer differs between a run and its replay (workflow.now(), workflow.uuid4(),
# workflow.random() are the deterministic ones).
NONDETERMINISTIC = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"),
                    ("time", "time"), ("time", "time_ns"), ("time", "monotonic"), ("time", "perf_counter"),
                    ("uuid", "uuid1"), ("uuid", "uuid4"), ("os", "getenv"), ("os", "environ"), ("os", "urandom"),
                    ("random", "*"), ("secrets", "*")}


def nondeterministic_uses(source: str) -> list[str]:
    """`name.attr` uses in `source` that NONDETERMINISTIC names, and every `global` statement."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Global):
            found.append(f"line {node.lineno}: global {', '.join(node.names)}")
        elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
              and {(node.value.id, node.attr), (node.value.id, "*")} & NONDETERMINISTIC):
            found.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
    return found


@pytest.mark.parametrize("path", sorted(ROOT.glob("*.py")), ids=lambda p: p.name)
def test_workflow_code_reads_no_clock_randomness_or_environment(path: Path):
    assert nondeterministic_uses(path.read_text()) == []


def test_the_scan_finds_a_clock_read_and_a_global():
    source = "import datetime\nX = 0\ndef f():\n    global X\n    return datetime.datetime.now(), random.random()\n"
    assert nondeterministic_uses(source) == ["line 4: global X", "line 5: random.random"]


def module_state() -> dict[str, str]:
    """The repr of every value a `workflows.*` module holds (and the plain attributes of its
    classes): what one run could leave behind for the next."""
    state = {}
    for name, module in sorted(sys.modules.items()):
        if not (name == "workflows" or name.startswith("workflows.")) or module is None:
            continue
        for attribute, value in vars(module).items():
            if attribute.startswith("__") or isinstance(value, types.ModuleType):
                continue
            if inspect.isclass(value) and value.__module__ == name:
                for field, held in vars(value).items():
                    if not field.startswith("__") and not callable(held) and not isinstance(held, property):
                        state[f"{name}.{attribute}.{field}"] = repr(held)
            elif not callable(value):
                state[f"{name}.{attribute}"] = repr(value)
    return state


async def replay_all() -> None:
    replayer = Replayer(workflows=[RelayWorkflow], data_converter=pydantic_data_converter,
                        workflow_runner=workflow_runner())
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
