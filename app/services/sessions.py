"""Session tokens (SPEC §3.3): short-lived, scoped tokens of one tenant for a host product's browser
code. `rst_<random>`, stored only as a SHA-256 hash, shown once; at most 24 h; tenant scopes only
(never `admin` or `platform`) and never more than the creator's. Revoking deletes the row, so the
token answers 401 at once (app/services/keys.py authenticate)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.repo import sessions as session_rows
from app.db.tables import SessionToken, utcnow
from app.ids import new_id, new_token
from app.services import audit
from app.services.audit import Actor
from app.services.errors import Forbidden, InvalidInput
from app.services.keys import SCOPES, SESSION_PREFIX, Principal, hash_key
from workflows.durations import DurationError, parse_duration
from workflows.problems import shorten

SESSION_SCOPES = tuple(scope for scope in SCOPES if scope != "admin")
DEFAULT_TTL = timedelta(hours=1)
MAX_TTL = timedelta(hours=24)


# what a session's ttl may be, as every refusal of one says it
TTL_RULE = 'a duration from 1s to 24h, e.g. "15m" or "1h", or seconds from 1 to 86400 (default 1h)'


def ttl_of(value: Any) -> timedelta:
    if value is None:
        return DEFAULT_TTL
    try:
        ttl = parse_duration(value)
    except (DurationError, OverflowError):  # OverflowError: more days than a timedelta holds
        ttl = None
    if ttl is None or not timedelta(seconds=1) <= ttl <= MAX_TTL:
        raise InvalidInput("the session is not valid", details=[
            {"path": "ttl", "message": TTL_RULE,
             "value": shorten(value)}])
    return ttl


def checked_scopes(scopes: list[str], creator: Principal) -> list[str]:
    problems = [{"path": f"scopes.{i}", "message": f"a session scope is one of {', '.join(SESSION_SCOPES)}",
                 "value": shorten(scope)} for i, scope in enumerate(scopes) if scope not in SESSION_SCOPES]
    if problems:
        raise InvalidInput("the session is not valid", details=problems)
    for scope in scopes:
        if not (creator.is_platform or creator.allows(scope)):  # a platform key holds every tenant scope
            raise Forbidden(f"a session cannot have a scope its creator lacks: {scope}",
                            details=[{"missing_scope": scope}])
    return sorted(set(scopes))


async def create_session(session: AsyncSession, *, creator: Principal, tenant_id: str, scopes: list[str],
                         ttl: Any = None, subject: str | None = None,
                         actor: Actor | None = None) -> tuple[SessionToken, str]:
    """A new session of `tenant_id` and its token (shown only now)."""
    lifetime, granted = ttl_of(ttl), checked_scopes(scopes, creator)
    token = f"{SESSION_PREFIX}{new_token(32)}"
    now = utcnow()
    row = SessionToken(id=new_id("ses"), tenant_id=tenant_id, token_hash=hash_key(token), scopes=granted,
                       subject=subject, created_by=creator.key_id, created_at=now, expires_at=now + lifetime)
    audit.note(session, actor, "session.created", "session", row.id, tenant_id=tenant_id)  # with the session
    return await session_rows.add_session(session, row=row), token


def session_view(row: SessionToken, token: str | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {"id": row.id, "tenant_id": row.tenant_id, "scopes": list(row.scopes),
                            "subject": row.subject, "created_at": row.created_at, "expires_at": row.expires_at}
    if token is not None:
        view["token"] = token
    return view
