"""Typed dependencies: settings, session, Temporal client, the calling key."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from app.acting import act_as, rate_bucket
from app.config import Settings
from app.errors import ApiError
from app.services.audit import Actor
from app.services.errors import TemporalUnavailable
from app.services.keys import KEY_PREFIX, PLATFORM, SESSION_PREFIX, AuthCache, Principal


# The dependencies are coroutines, even those that do not await: FastAPI runs a plain function
# dependency in its thread pool, a thread hop per request each (measured: docs/performance.md §8).
async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessionmaker() as session:
        yield session


async def get_temporal(request: Request) -> Client:
    client = request.app.state.temporal
    if client is None:
        raise TemporalUnavailable("Temporal is not reachable")
    return client


MAX_PAGE = 1_000_000  # (page - 1) * limit stays far inside a 64-bit SQL offset
Page = Annotated[int, Query(ge=1, le=MAX_PAGE, description="1-based page number")]
Limit = Annotated[int, Query(ge=1, le=100, description="items per page")]

SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
TemporalDep = Annotated[Client, Depends(get_temporal)]


def key_in(authorization: str | None, api_key: str | None) -> str:
    """The key or session token of `Authorization: Bearer <key>` or, as seed 002 sends it,
    `x-api-key: <key>` (SPEC §3.3); "" when there is none. A blank Authorization header (some HTTP
    clients send one empty) is no header, so x-api-key still counts."""
    if authorization and authorization.strip():
        scheme, _, key = authorization.partition(" ")
        return key.strip() if scheme.lower() == "bearer" else ""
    return (api_key or "").strip()


async def principal_for(state: dict[str, Any], session: AsyncSession, *, key: str,
                        cache: AuthCache) -> Principal | None:
    """The principal of `key`, looked up once per request (and then only when the credentials'
    cache has no answer): the idempotency middleware looks first (a POST with an Idempotency-Key),
    and the route's `get_principal` reuses its answer."""
    known = state.get(_LOOKED_UP)
    if known is not None and known[0] == key:
        return known[1]
    principal = await cache.principal(session, key=key)
    state[_LOOKED_UP] = (key, principal)
    return principal


_LOOKED_UP = "api_key_lookup"


def presented_key(request: Request) -> str:
    key = key_in(request.headers.get("authorization"), request.headers.get("x-api-key"))
    if not key.startswith((KEY_PREFIX, SESSION_PREFIX)):
        raise ApiError("invalid_key", "missing or malformed API key or session token "
                       "(Authorization: Bearer rly_…|rst_… or x-api-key: rly_…|rst_…)")
    return key


async def get_caller(request: Request, session: SessionDep) -> Principal:
    """Who calls: a tenant's key, a session token or a platform key; counted against its rate limit."""
    key = presented_key(request)
    principal = await principal_for(request.scope.setdefault("state", {}), session, key=key,
                                    cache=request.app.state.auth_cache)
    if principal is None:
        raise ApiError("invalid_key", "unknown, revoked or expired API key or session token")
    request.state.principal = principal
    quota = await request.app.state.rate_limiter.hit(rate_bucket(principal, request.headers))
    request.state.quota = quota  # RequestContextMiddleware puts its headers on the response
    if not quota.allowed:
        raise ApiError("rate_limited", f"rate limit of {quota.limit} requests exceeded; retry later",
                       headers=quota.headers())
    return principal


async def get_principal(request: Request, session: SessionDep,
                        caller: Annotated[Principal, Depends(get_caller)]) -> Principal:
    """The caller of a tenant endpoint, as its tenant: a platform key acts for the tenant that
    Relay-Tenant names (app/acting.py)."""
    principal = await act_as(request, session, caller)
    request.state.principal = principal
    return principal


async def get_platform(caller: Annotated[Principal, Depends(get_caller)]) -> Principal:
    if not caller.is_platform:
        raise ApiError("insufficient_permissions", "this endpoint needs a platform key",
                       details=[{"missing_scope": PLATFORM}])
    return caller


def _check(principal: Principal, scope: str) -> Principal:
    if not principal.allows(scope):
        raise ApiError("insufficient_permissions", f"this key lacks the scope {scope}",
                       details=[{"missing_scope": scope}])
    return principal


def require(scope: str) -> Callable[..., Awaitable[Principal]]:
    async def dependency(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        return _check(principal, scope)

    return dependency


@dataclass(frozen=True)
class Call:
    """What a hot route needs (the caller as its tenant, the session, settings, Temporal), given
    by one dependency: FastAPI's solving costs per dependency, and the trigger and event routes
    had six (docs/performance.md section 8, fourth pass). The same checks in the same order as
    `require(scope)`, `SessionDep`, `SettingsDep` and `TemporalDep` together."""

    principal: Principal
    session: AsyncSession
    settings: Settings
    temporal: Client


# What a one-dependency context runs in place of dependencies: the OpenAPI document derives the
# errors an operation can answer from the dependencies it runs (app/openapi.py error_statuses).
INNER_DEPENDENCIES: dict[Callable[..., Any], frozenset[Callable[..., Any]]] = {}


def call_with(scope: str) -> Callable[[Request], AsyncIterator[Call]]:
    async def dependency(request: Request) -> AsyncIterator[Call]:
        async with request.app.state.sessionmaker() as session:
            principal = _check(await get_principal(request, session, await get_caller(request, session)), scope)
            yield Call(principal, session, request.app.state.settings, await get_temporal(request))

    INNER_DEPENDENCIES[dependency] = frozenset({get_session, get_caller, get_principal, get_temporal})
    return dependency


ReadWorkflows = Annotated[Principal, Depends(require("read:workflows"))]
WriteWorkflows = Annotated[Principal, Depends(require("write:workflows"))]
ReadInstances = Annotated[Principal, Depends(require("read:instances"))]
WriteInstances = Annotated[Principal, Depends(require("write:instances"))]
WriteEvents = Annotated[Principal, Depends(require("write:events"))]
Admin = Annotated[Principal, Depends(require("admin"))]
Platform = Annotated[Principal, Depends(get_platform)]
Caller = Annotated[Principal, Depends(get_caller)]
TriggerCall = Annotated[Call, Depends(call_with("write:instances"))]
EventCall = Annotated[Call, Depends(call_with("write:events"))]


def actor(request: Request, principal: Principal) -> Actor:
    """The request's caller, as services record it in the audit log."""
    return Actor(principal=principal, request_id=getattr(request.state, "request_id", None))
