"""Acting for a tenant (SPEC §3.3): `Relay-Tenant: <tenant id or external_id>`, alias `linked_account_id`
(seed 002, also spelled `linked-account-id`).

- A platform key acts for the tenant the header names, with every tenant scope; without the header,
  or naming a tenant that does not exist, a tenant endpoint answers 400 validation_error.
- A tenant's key or session may name its own tenant (by id, external_id or name); naming any other
  is 403 insufficient_permissions.
Both headers may be sent; they must then name the same tenant.
"""

from __future__ import annotations

from dataclasses import replace

from fastapi import Request
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.repo import tenants as tenant_rows
from app.errors import ApiError, shorten
from app.services.keys import Principal
from workflows import seeds

HEADERS = seeds.LINKED_ACCOUNT_HEADERS  # relay-tenant, linked_account_id, linked-account-id
TENANT_SCOPES = frozenset({"admin"})  # admin allows every tenant scope (app/services/keys.py)


def _named(headers) -> list[tuple[str, str]]:
    """(header, value) of each header naming a tenant; an empty one names none."""
    return [(header, headers[header].strip()) for header in HEADERS if headers.get(header, "").strip()]


def named_tenant(headers) -> tuple[str, str] | None:
    """(header, value) of the tenant the request names, or None; 400 when two headers disagree."""
    named = _named(headers)
    if len({value for _, value in named}) > 1:
        raise ApiError("validation_error", "Relay-Tenant and linked_account_id name different tenants",
                       details=[{"path": f"header.{h}", "value": shorten(v)} for h, v in named])
    return named[0] if named else None


def rate_bucket(caller: Principal, headers) -> str:
    """The rate limit counts per key or session; a platform key's requests count per tenant it acts
    for, so one customer's burst through the host's backend does not hold back the others."""
    if not caller.is_platform:
        return caller.key_id
    named = _named(headers)
    return f"{caller.key_id}:{named[0][1]}" if named else caller.key_id


async def act_as(request: Request, session: AsyncSession, caller: Principal) -> Principal:
    """The caller as the tenant of a tenant endpoint."""
    named = named_tenant(request.headers)
    if caller.is_platform:
        if named is None:
            raise ApiError("validation_error", "a platform key acts for a tenant: send Relay-Tenant: "
                           "<tenant id or external_id> (or linked_account_id)",
                           details=[{"path": "header.relay-tenant", "message": "required with a platform key"}])
        tenant = await tenant_rows.tenant_by_ref(session, ref=named[1])
        if tenant is None:
            raise ApiError("validation_error", f"no tenant has the id or external_id {shorten(named[1])}",
                           details=[{"path": f"header.{named[0]}", "value": shorten(named[1])}])
        return replace(caller, tenant_id=tenant.id, scopes=TENANT_SCOPES)
    if named is not None and named[1] != caller.tenant_id:
        own = await tenant_rows.tenant_by_id(session, tenant_id=caller.tenant_id)
        if own is None or named[1] not in (own.external_id, own.name):
            raise ApiError("insufficient_permissions", f"this {caller.actor} belongs to another tenant than "
                           f"{named[0]} {shorten(named[1])}",
                           details=[{"path": f"header.{named[0]}", "value": shorten(named[1])}])
    return caller
