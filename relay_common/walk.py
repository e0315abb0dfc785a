"""The one walk over JSON-like values (dicts, lists, tuples), for code that treats every leaf alike.

Walks that need each leaf's path (template rendering and validation, workflows/expressions.py) or
that judge a value's shape (JSON Logic, conditions, strict JSON) are their own code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any


def map_leaves(value: Any, leaf: Callable[[Any], Any], *, key: Callable[[Any], Any] | None = None) -> Any:
    """`value` with every leaf replaced by `leaf(leaf)` (and every dict key by `key(key)` when given);
    tuples come back as lists."""
    if isinstance(value, dict):
        return {(key(k) if key else k): map_leaves(v, leaf, key=key) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [map_leaves(v, leaf, key=key) for v in value]
    return leaf(value)


def strings(value: Any) -> Iterator[str]:
    """Every string leaf of `value` (not the keys)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from strings(item)
