"""How activities reach a tenant's connections (SPEC §3.2) without knowing the database.

The database-backed store lives in app/; tests and `relay dev` without a database use
`InMemoryConnectionStore`.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field


class ResolvedConnection(BaseModel):
    """A connection with its secrets decrypted. Never log it, never return it."""

    id: str
    name: str
    type: str
    config: dict[str, Any] = Field(default_factory=dict)
    secrets: dict[str, Any] = Field(default_factory=dict)

    def __repr__(self) -> str:  # keep secret values out of tracebacks and logs
        return f"ResolvedConnection(id={self.id!r}, name={self.name!r}, type={self.type!r})"

    __str__ = __repr__


@runtime_checkable
class ConnectionStore(Protocol):
    async def get_connection(
        self, tenant_id: str, type: str, ref: str | None
    ) -> ResolvedConnection | None:
        """The tenant's connection of `type` whose id or name is `ref`; `ref=None`: its default."""
        ...

    async def get_secret(self, tenant_id: str, name: str) -> str | None:
        """The `value` of the tenant's `secret` connection called `name`."""
        ...


class InMemoryConnectionStore:
    """A dict-backed `ConnectionStore`: `add()` connections per tenant."""

    def __init__(self) -> None:
        self._connections: dict[str, list[ResolvedConnection]] = {}
        self._defaults: dict[tuple[str, str], str] = {}

    def add(
        self,
        tenant_id: str,
        *,
        name: str,
        type: str,
        config: dict[str, Any] | None = None,
        secrets: dict[str, Any] | None = None,
        default: bool = False,
        id: str | None = None,
    ) -> ResolvedConnection:
        items = self._connections.setdefault(tenant_id, [])
        conn = ResolvedConnection(
            id=id or f"conn_{len(items) + 1}_{name}",
            name=name,
            type=type,
            config=config or {},
            secrets=secrets or {},
        )
        items[:] = [c for c in items if c.name != name]
        items.append(conn)
        if default:
            self._defaults[(tenant_id, type)] = conn.id
        return conn

    def add_secret(self, tenant_id: str, name: str, value: str) -> ResolvedConnection:
        return self.add(tenant_id, name=name, type="secret", secrets={"value": value})

    async def get_connection(
        self, tenant_id: str, type: str, ref: str | None
    ) -> ResolvedConnection | None:
        items = [c for c in self._connections.get(tenant_id, []) if c.type == type]
        if ref is None:
            default_id = self._defaults.get((tenant_id, type))
            return next((c for c in items if c.id == default_id), None)
        return next((c for c in items if ref in (c.id, c.name)), None)

    async def get_secret(self, tenant_id: str, name: str) -> str | None:
        conn = await self.get_connection(tenant_id, "secret", name)
        if conn is None or conn.secrets.get("value") is None:
            return None
        return str(conn.secrets["value"])
