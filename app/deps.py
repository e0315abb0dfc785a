"""Typed dependencies: settings, session, Temporal client, the calling key."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from app.config import Settings
from app.errors import ApiError
from app.services.keys import Principal, authenticate


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessionmaker() as session:
        yield session


def get_temporal(request: Request) -> Client:
    client = request.app.state.temporal
    if client is None:
        raise ApiError("temporal_unavailable", "Temporal is not reachable")
    return client


MAX_PAGE = 1_000_000  # (page - 1) * limit stays far inside a 64-bit SQL offset
Page = Annotated[int, Query(ge=1, le=MAX_PAGE, description="1-based page number")]
Limit = Annotated[int, Query(ge=1, le=100, description="items per page")]

SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
TemporalDep = Annotated[Client, Depends(get_temporal)]


async def get_principal(request: Request, session: SessionDep) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.startswith("rly_"):
        raise ApiError("invalid_key", "missing or malformed API key (Authorization: Bearer rly_…)")
    principal = await authenticate(session, key=key.strip())
    if principal is None:
        raise ApiError("invalid_key", "unknown or revoked API key")
    request.state.principal = principal
    quota = await request.app.state.rate_limiter.hit(principal.key_id)
    request.state.quota = quota  # RequestContextMiddleware puts its headers on the response
    if not quota.allowed:
        raise ApiError("rate_limited", f"rate limit of {quota.limit} requests exceeded; retry later",
                       headers=quota.headers())
    return principal


def require(scope: str) -> Callable[..., Awaitable[Principal]]:
    async def dependency(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if not principal.allows(scope):
            raise ApiError("insufficient_permissions", f"this key lacks the scope {scope}",
                           details=[{"missing_scope": scope}])
        return principal

    return dependency


ReadWorkflows = Annotated[Principal, Depends(require("read:workflows"))]
WriteWorkflows = Annotated[Principal, Depends(require("write:workflows"))]
ReadInstances = Annotated[Principal, Depends(require("read:instances"))]
WriteInstances = Annotated[Principal, Depends(require("write:instances"))]
WriteEvents = Annotated[Principal, Depends(require("write:events"))]
Admin = Annotated[Principal, Depends(require("admin"))]
