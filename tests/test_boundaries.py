"""The layers keep to their imports (docs/architecture.md), and files stay small.

Read from the source (AST), not by importing it: a forbidden import is found even in a branch
that does not run. To check another directory, add it to the tables below.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ("app", "activities", "workflows", "relay_common", "worker")

# Modules that do I/O, read the environment or the clock of the machine: never in workflow code.
IO_MODULES = (
    "httpx", "sqlalchemy", "sqlmodel", "structlog", "aiosmtplib", "aiosqlite", "psycopg", "redis",
    "alembic", "socket", "ssl", "subprocess", "os", "shutil", "pathlib", "urllib.request", "http.client",
    "smtplib", "logging", "app", "activities",
)
# What the workflow code may import from those anyway: pure models, passed through the sandbox.
IO_EXCEPTIONS = ("activities.models",)

HTTP_MODULES = ("fastapi", "starlette", "app.main", "app.routers", "app.deps", "app.errors", "app.middleware",
                "app.idempotency", "app.responses", "app.openapi", "app.views")

# directory -> (forbidden module prefixes, allowed exceptions, follow imports into the project)
RULES: dict[str, tuple[tuple[str, ...], tuple[str, ...], bool]] = {
    "activities": (("app.services", "app.db", "app.errors"), (), False),
    "workflows": (IO_MODULES, IO_EXCEPTIONS, True),
    "relay_common": (IO_MODULES, (), True),
    # services know nothing of HTTP (they raise app/services/errors.py; app/errors.py answers)
    "app/services": (HTTP_MODULES, (), False),
    # the data layer knows only tables and sessions
    "app/db": (("app.services", "app.temporal", *HTTP_MODULES), (), False),
}

MAX_LINES = 300
MAX_FUNCTION_LINES = 60
SIZE_CHECKED = ("app", "workflows", "activities", "relay_common")


def python_files(directory: str) -> list[Path]:
    return sorted((ROOT / directory).rglob("*.py"))


def imports_of(path: Path) -> set[str]:
    """Every module `path` imports, at any depth of its code (TYPE_CHECKING blocks included)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def module_file(name: str) -> Path | None:
    """The project file of module `name`, if it is one of ours."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        base = ROOT.joinpath(*parts[:end])
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


def reached(start: Path) -> dict[Path, str]:
    """`start` and the project files it imports, directly or through other project files (the
    allowed exceptions too: they must be pure as well), each with the chain that reaches it."""
    chains, todo = {start: start.relative_to(ROOT).as_posix()}, [start]
    while todo:
        path = todo.pop()
        for name in imports_of(path):
            target = module_file(name) if under(name, PROJECT) else None
            if target is not None and target not in chains:
                chains[target] = f"{chains[path]} -> {name}"
                todo.append(target)
    return chains


def violations(directory: str) -> list[str]:
    forbidden, allowed, follow = RULES[directory]
    found: set[str] = set()
    for path in python_files(directory):
        files = reached(path) if follow else {path: path.relative_to(ROOT).as_posix()}
        for file, chain in files.items():
            for name in imports_of(file):
                if under(name, forbidden) and not under(name, allowed):
                    found.add(f"{chain}: imports {name}")
            text = file.read_text()
            if follow and ("environ" in text or "getenv" in text):
                found.add(f"{chain}: reads the environment")
    return sorted(found)


@pytest.mark.parametrize("directory", sorted(RULES))
def test_a_layer_imports_only_what_it_may(directory: str) -> None:
    assert violations(directory) == []


# Engines are made in one place (app/db/session.py: SQLite pragmas, hidden parameters) and only
# by the processes' entry points, one each: never per call, never by a service or an activity.
ENGINE_MAKERS = {"app/main.py", "app/cli.py", "app/dev.py", "worker.py"}


def test_engines_are_made_by_the_entry_points_only() -> None:
    made = set()
    for path in [*python_files("app"), *python_files("activities"), *python_files("workflows"), ROOT / "worker.py"]:
        text, name = path.read_text(), path.relative_to(ROOT).as_posix()
        if "create_async_engine(" in text and name != "app/db/session.py":
            made.add(f"{name}: create_async_engine")
        if "make_engine(" in text and name not in ENGINE_MAKERS | {"app/db/session.py"}:
            made.add(f"{name}: make_engine")
    assert made == set()


# The HTTP layer builds no SQL: it calls services and the repositories (app/db/repo/).
HTTP_LAYER = ("app/routers", "app/middleware.py", "app/idempotency.py", "app/deps.py", "app/errors.py",
              "app/responses.py", "app/main.py")
SQL_MODULES = ("sqlalchemy", "sqlmodel")
SQL_TYPES = ("sqlmodel.ext.asyncio.session",)  # the session's type, for dependencies


def test_the_http_layer_builds_no_sql() -> None:
    found = set()
    for entry in HTTP_LAYER:
        for path in python_files(entry) if (ROOT / entry).is_dir() else [ROOT / entry]:
            found |= {f"{path.relative_to(ROOT).as_posix()}: imports {name}" for name in imports_of(path)
                      if under(name, SQL_MODULES) and not under(name, SQL_TYPES)}
    assert found == set()


def test_failure_types_come_from_the_registry() -> None:
    """`ApplicationError(type=...)` and a step's `error_type=` name a relay_common.failures constant,
    never a string written on the spot."""
    found = set()
    for path in [*python_files("workflows"), *python_files("activities")]:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute)):
                for keyword in node.keywords:
                    if keyword.arg in ("type", "error_type") and isinstance(keyword.value, ast.Constant) \
                            and getattr(node.func, "id", getattr(node.func, "attr", "")) in ("ApplicationError", "end"):
                        found.add(f"{path.relative_to(ROOT).as_posix()}:{node.lineno}")
    assert found == set()


def test_the_scan_finds_a_forbidden_import(tmp_path: Path) -> None:
    """The checks above can fail: an import hidden in a function is found."""
    sample = tmp_path / "sample.py"
    sample.write_text("def later():\n    from app.db.session import make_engine\n    import httpx\n")
    assert {"app.db.session", "app.db.session.make_engine", "httpx"} <= imports_of(sample)
    assert under("app.db.session", RULES["activities"][0]) and under("httpx", IO_MODULES)
    assert not under("activities.models", ("activities.model",))


@pytest.mark.parametrize("directory", SIZE_CHECKED)
def test_no_file_is_over_300_lines(directory: str) -> None:
    long = {path.relative_to(ROOT).as_posix(): n for path in python_files(directory)
            if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def long_functions(path: Path, name: str) -> dict[str, int]:
    """Every function (method, nested function) of `path` over MAX_FUNCTION_LINES, decorators excluded."""
    found = {}
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                found[f"{name}:{node.lineno} {node.name}"] = length
    return found


@pytest.mark.parametrize("directory", SIZE_CHECKED)
def test_no_function_is_over_60_lines(directory: str) -> None:
    found: dict[str, int] = {}
    for path in python_files(directory):
        found.update(long_functions(path, path.relative_to(ROOT).as_posix()))
    assert found == {}


def test_the_size_rules_can_fail(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("class A:\n    async def long(self):\n" + "        x = 1\n" * 60 + "def short():\n    pass\n")
    assert long_functions(sample, "sample.py") == {"sample.py:2 long": 61}
