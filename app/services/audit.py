"""The audit log (SPEC §3.3): who changed what in a tenant, written with the change itself.

`record` only adds the entry to the caller's session: the caller's commit writes it in the
same transaction as the change it records, so an entry exists exactly when its change does.
(An instance's cancel or retry changes Temporal, not the database: its entry is written once
Temporal has accepted the call.) Entries hold ids, the action's name, the actor's subject and
the request id — never a key, a token or a secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.repo.pages import Page, paginate
from app.db.tables import AuditEntry
from app.ids import new_id

Action = Literal[
    "workflow.created", "workflow.updated", "workflow.published", "workflow.deleted",
    "connection.created", "connection.deleted", "key.created", "key.deleted",
    "session.created", "session.deleted", "tenant.updated", "instance.cancelled", "instance.retried",
]


@dataclass(frozen=True)
class Actor:
    """The authenticated caller of one request, as services receive it to record their changes."""

    principal: Any  # app.services.keys.Principal
    request_id: str | None


def actor_type(principal: Any) -> str:
    """"key", "session" or "platform" (a platform key acting for a tenant)."""
    kind = getattr(principal, "kind", None) or getattr(principal, "type", None)
    return kind if kind in ("key", "session", "platform") else "key"


def record(session: AsyncSession, *, principal: Any, action: Action, resource_type: str, resource_id: str,
           request_id: str | None) -> AuditEntry:
    """Add one entry to `session`; the caller's commit writes it with its change."""
    entry = AuditEntry(id=new_id("aud"), tenant_id=principal.tenant_id, actor_type=actor_type(principal),
                       actor_id=getattr(principal, "session_id", None) or principal.key_id,
                       actor_subject=getattr(principal, "subject", None), action=action,
                       resource_type=resource_type, resource_id=resource_id, request_id=request_id)
    session.add(entry)
    return entry


def note(session: AsyncSession, actor: Actor | None, action: Action, resource_type: str, resource_id: str) -> None:
    """`record` for a service given the request's actor (None: not an API change, nothing recorded)."""
    if actor is not None:
        record(session, principal=actor.principal, action=action, resource_type=resource_type,
               resource_id=resource_id, request_id=actor.request_id)


async def page_of_entries(session: AsyncSession, *, tenant_id: str, page: int, limit: int) -> Page[AuditEntry]:
    return await paginate(session, AuditEntry, where=[col(AuditEntry.tenant_id) == tenant_id],
                          order_by=[col(AuditEntry.at).desc(), col(AuditEntry.id).desc()], page=page, limit=limit)


def entry_view(row: AuditEntry) -> dict[str, Any]:
    return {"id": row.id, "at": row.at, "actor": {"type": row.actor_type, "id": row.actor_id,
                                                  "subject": row.actor_subject},
            "action": row.action, "resource": {"type": row.resource_type, "id": row.resource_id},
            "request_id": row.request_id}
