"""A validation problem: where (a dotted/indexed path) and what, naming the offending value."""

from typing import Any, NamedTuple

from relay_common.secret_paths import NOT_SHOWN, is_secret_path

BRANCH_TAGS = ("Action", "if-else", "delay", "wait_for_event", "parallel", "for_each", "stop", "call_workflow",
               "approval")


class Problem(NamedTuple):
    path: str
    message: str

    def as_detail(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


def shorten(value: Any, limit: int = 60) -> str:
    """A value as an error message names it: its repr, cut to `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def pydantic_message(item: dict[str, Any], path: str | None = None) -> str:
    """One pydantic error as a message that names what was refused (an unknown field, the value);
    at a secret's path (its full `path` when the error's own location is relative) not the value."""
    kind, value, loc = item["type"], item.get("input"), item.get("loc") or ()
    if is_secret_path(path if path is not None else ".".join(map(str, loc))):
        return f"{item['msg']} {NOT_SHOWN}"
    if kind == "extra_forbidden":
        return f"unknown field {str(loc[-1]) if loc else ''!r}: no form of this request knows it"
    if kind == "missing":
        return f"{str(loc[-1]) if loc else 'value'!r} is required"
    if kind == "unknown_block" and isinstance(value, dict):
        tag = value.get("$kind", value.get("kind"))
        if tag == "Block":
            return f"{item['msg']}; got type {shorten(value.get('type'))}"
        return f"{item['msg']}; got $kind {shorten(tag)}"
    return f"{item['msg']}; got {shorten(value)}"


def pydantic_problems(error: Any, prefix: str = "") -> list[Problem]:
    """The problems of a pydantic ValidationError, each at its path (union tags left out)."""
    problems = []
    for item in error.errors():
        loc = [str(part) for part in item["loc"] if part not in BRANCH_TAGS]
        path = ".".join(filter(None, [prefix, *loc]))
        problems.append(Problem(path or "$", pydantic_message(item, path)))
    return problems
