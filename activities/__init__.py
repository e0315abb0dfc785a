"""Relay's side effects: the five action activities of SPEC §2.4.

    activities = RelayActivities(activity_settings(settings), store)   # worker.py builds both
    Worker(client, task_queue=..., activities=activities.list(), ...)

The names below load on first use, so that `activities.models` (imported by workflow
code) stays free of httpx, aiosmtplib and settings.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from activities.addresses import OutboundRefused
    from activities.connections import ConnectionStore, InMemoryConnectionStore, ResolvedConnection
    from activities.models import ActionInput, ActionResult
    from activities.relay import RelayActivities

_EXPORTS = {
    "RelayActivities": "activities.relay",
    "ConnectionStore": "activities.connections",
    "InMemoryConnectionStore": "activities.connections",
    "ResolvedConnection": "activities.connections",
    "OutboundRefused": "activities.addresses",
    "ActionInput": "activities.models",
    "ActionResult": "activities.models",
}
__all__ = [  # the names of _EXPORTS, spelled out for linters and type checkers
    "ActionInput", "ActionResult", "ConnectionStore", "InMemoryConnectionStore", "OutboundRefused",
    "RelayActivities", "ResolvedConnection",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'activities' has no attribute {name!r}")
