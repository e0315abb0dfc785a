"""The audit log (SPEC §3.3): who changed what in a tenant, written with the change itself.

`record` only adds the entry to the caller's session: the caller's commit writes it in the
same transaction as the change it records, so an entry exists exactly when its change does.
(An instance's cancel or retry changes Temporal, not the database: its entry is written once
Temporal has accepted the call.) Entries hold ids, the action's name, the actor's subject and
the request id — never a key, a token or a secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.tables import AuditEntry
from app.ids import new_id

if TYPE_CHECKING:
    from app.services.keys import Principal

Action = Literal[
    "workflow.created", "workflow.updated", "workflow.published", "workflow.deleted",
    "connection.created", "connection.deleted", "key.created", "key.deleted",
    "session.created", "session.deleted", "tenant.updated", "instance.cancelled", "instance.retried",
]


@dataclass(frozen=True)
class Actor:
    """The authenticated caller of one request, as services receive it to record their changes."""

    principal: Principal
    request_id: str | None


def record(session: AsyncSession, *, principal: Principal, action: Action, resource_type: str, resource_id: str,
           request_id: str | None, tenant_id: str | None = None) -> AuditEntry:
    """Add one entry to `session`; the caller's commit writes it with its change. It goes to the log
    of `tenant_id` (default: the principal's tenant; a platform key changing a tenant names it)."""
    entry = AuditEntry(id=new_id("aud"), tenant_id=tenant_id or principal.tenant_id, actor_type=principal.actor,
                       actor_id=principal.key_id, actor_subject=principal.subject, action=action,
                       resource_type=resource_type, resource_id=resource_id, request_id=request_id)
    session.add(entry)
    return entry


def note(session: AsyncSession, actor: Actor | None, action: Action, resource_type: str, resource_id: str,
         *, tenant_id: str | None = None) -> None:
    """`record` for a service given the request's actor (None: not an API change, nothing recorded)."""
    if actor is not None:
        record(session, principal=actor.principal, action=action, resource_type=resource_type,
               resource_id=resource_id, request_id=actor.request_id, tenant_id=tenant_id)


def entry_view(row: AuditEntry) -> dict[str, Any]:
    return {"id": row.id, "at": row.at, "actor": {"type": row.actor_type, "id": row.actor_id,
                                                  "subject": row.actor_subject},
            "action": row.action, "resource": {"type": row.resource_type, "id": row.resource_id},
            "request_id": row.request_id}
