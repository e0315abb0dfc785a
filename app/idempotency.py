"""Idempotency-Key for every POST (SPEC §3): 24 h, replay of the first response, 409 on a different body.

A replay or a 409 answered here counts against the calling key's rate limit and carries the
X-RateLimit-* headers, like any answer of the routes (which count it in app.deps).

The first request with a key inserts an `in_progress` row (unique per tenant and key), so a
concurrent duplicate cannot run too: it waits for the first to finish and gets its response.
A row left `in_progress` by a crashed API is taken over after STALE_AFTER; the trigger
endpoint derives its instance id from the key, so the retry finds the run already started.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import structlog
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.acting import HEADERS, rate_bucket
from app.config import Settings
from app.crypto import cipher
from app.db.repo import idempotency as idempotency_rows
from app.db.session import unreachable
from app.db.tables import IdempotencyRecord, utcnow
from app.deps import key_in, principal_for
from app.middleware import header, send_error

TTL = timedelta(hours=24)
STALE_AFTER = timedelta(seconds=120)  # longer than the slowest request (a dry run waits up to 60 s)
WAIT_FOR_FIRST = 30.0
# Storing the answer outlives a database restart: a row left in_progress would turn the client's
# retry into a 30 s wait and a 409 for STALE_AFTER (docs/fault-drills.md, drill 9).
FINISH_RETRIES = (0.2, 0.5, 1.0, 2.0, 4.0, 8.0)
_LATER: set[asyncio.Task[None]] = set()  # background stores (a task needs a reference to live)
log = structlog.get_logger("relay.idempotency")


def canonical(scope: Scope, body: bytes) -> bytes:
    """The same JSON with other spacing or key order is the same request; anything else compares raw."""
    state = scope.get("state", {})
    if "json_body" not in state:  # the body guard parsed it when it is JSON
        return body
    return json.dumps(state["json_body"], sort_keys=True, separators=(",", ":")).encode()


def idempotency_key_of(scope: Scope) -> str | None:
    return scope.get("state", {}).get("idempotency_key")


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = header(scope, b"idempotency-key") if scope["type"] == "http" and scope["method"] == "POST" else None
        if key is None:
            await self.app(scope, receive, send)
            return
        if not 0 < len(key) <= 255:
            await send_error(send, scope, "validation_error", "Idempotency-Key must be 1 to 255 characters",
                             details=[{"path": "Idempotency-Key", "message": "1 to 255 characters"}])
            return
        owner, caller, bucket = await self._owner(scope)
        if owner is None:  # unauthenticated: the endpoint answers 401
            await self.app(scope, receive, send)
            return
        body = scope.get("state", {}).get("raw_body", b"")
        # The calling key is part of the request: a replay runs no scope check, so another key of the
        # tenant (say one without `admin`) must not be handed the stored answer (say a new API key).
        fingerprint = hashlib.sha256(scope["method"].encode() + b" " + scope["path"].encode() + b" "
                                     + caller.encode() + b"\n" + canonical(scope, body)).hexdigest()
        maker = scope["app"].state.sessionmaker
        record = await self._claim(maker, owner, key, fingerprint)
        if not isinstance(record, int):
            # Answered here, without the route: count it against the key's rate limit as the route would.
            if bucket and not await self._within_rate_limit(send, scope, bucket):
                return
            if record.request_hash != fingerprint:
                await send_error(send, scope, "idempotency_conflict",
                                 "this Idempotency-Key was used with a different request")
                return
            if record.state != "done":
                await send_error(send, scope, "idempotency_conflict",
                                 "a request with this Idempotency-Key is still in progress; retry later",
                                 headers={"Retry-After": "1"})
                return
            await self._replay(send, scope, record)
            return
        scope["state"]["idempotency_key"] = f"{owner}:{key}"
        captured: dict[str, Any] = {"status": 500, "headers": [], "body": []}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = message.get("headers", [])
            elif message["type"] == "http.response.body":
                captured["body"].append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            await self._finish(maker, record, captured, scope["app"].state.settings)

    async def _owner(self, scope: Scope) -> tuple[str | None, str, str]:
        """(whose keys these are: the tenant, or the hook; the calling API key's id, "" for a hook; the
        rate-limit bucket the route would charge, app/acting.py `rate_bucket`)."""
        path = scope["path"]
        if path.startswith("/v1/hooks/"):
            return "hook:" + hashlib.sha256(path.encode()).hexdigest()[:32], "", ""
        token = key_in(header(scope, b"authorization"), header(scope, b"x-api-key"))
        if not token:
            return None, "", ""
        async with scope["app"].state.sessionmaker() as session:  # the route's get_principal reuses the answer
            principal = await principal_for(scope.setdefault("state", {}), session, key=token,
                                            cache=scope["app"].state.auth_cache)
        if principal is None:
            return None, "", ""
        if principal.is_platform:  # its keys are its own, per tenant it acts for (Relay-Tenant)
            named = {name: header(scope, name.encode()) or "" for name in HEADERS}
            owner = hashlib.sha256(f"{principal.key_id}\n{'|'.join(named.values())}".encode()).hexdigest()[:30]
            return f"platform:{owner}", principal.key_id, rate_bucket(principal, named)
        return principal.tenant_id, principal.key_id, principal.key_id

    async def _within_rate_limit(self, send: Send, scope: Scope, key_id: str) -> bool:
        quota = await scope["app"].state.rate_limiter.hit(key_id)
        scope["state"]["quota"] = quota  # RequestContextMiddleware puts its headers on the answer
        if not quota.allowed:
            await send_error(send, scope, "rate_limited",
                             f"rate limit of {quota.limit} requests exceeded; retry later", headers=quota.headers())
        return quota.allowed

    async def _claim(self, maker: Callable[[], AsyncSession], owner: str, key: str,
                     fingerprint: str) -> IdempotencyRecord | int:
        """Insert our row and return its id, or return the row that holds the key (waiting while it is in progress)."""
        deadline = asyncio.get_running_loop().time() + WAIT_FOR_FIRST
        while True:
            async with maker() as session:
                now = utcnow()
                existing = await idempotency_rows.find(session, owner=owner, key=key)
                if existing is not None:
                    created = existing.created_at
                    created = created if created.tzinfo else created.replace(tzinfo=now.tzinfo)
                    expired = now - created > TTL
                    stale = existing.state != "done" and now - created > STALE_AFTER
                    if not (expired or stale):
                        if existing.state == "done" or existing.request_hash != fingerprint:
                            return existing
                        if asyncio.get_running_loop().time() > deadline:
                            return existing
                        await asyncio.sleep(0.05)
                        continue
                mine = await idempotency_rows.claim(session, owner=owner, key=key, fingerprint=fingerprint,
                                                    replacing=existing)
                if mine is not None:
                    return mine
                # a concurrent duplicate won the insert: look again

    async def _finish(self, maker: Callable[[], AsyncSession], record_id: int, captured: dict[str, Any],
                      scope_settings: Settings) -> None:
        """Store the answer in OUR row (a duplicate that took a stale row over has its own). With the
        database away, again in the background: the answer (a 503, say) goes out now, and the
        client's retry waits for the row instead of finding it in_progress for STALE_AFTER."""
        try:
            await self._store(maker, record_id, captured, scope_settings)
        except Exception as error:
            if not unreachable(error):
                raise
            task = asyncio.create_task(self._store_later(maker, record_id, captured, scope_settings))
            _LATER.add(task)
            task.add_done_callback(_LATER.discard)

    async def _store_later(self, maker: Callable[[], AsyncSession], record_id: int, captured: dict[str, Any],
                           scope_settings: Settings) -> None:
        for pause in FINISH_RETRIES:
            await asyncio.sleep(pause)
            try:
                await self._store(maker, record_id, captured, scope_settings)
                return
            except Exception as error:  # a background task: nobody above to raise to
                if not unreachable(error):
                    log.exception("idempotency.store_failed", record_id=record_id)
                    return
        log.warning("idempotency.record_left_in_progress", record_id=record_id)  # taken over after STALE_AFTER

    async def _store(self, maker: Callable[[], AsyncSession], record_id: int, captured: dict[str, Any],
                     scope_settings: Settings) -> None:
        async with maker() as session:
            if captured["status"] >= 500 or captured["status"] == 429:  # nothing happened that a retry must not redo
                await idempotency_rows.finish(session, record_id=record_id, status=None)
                return
            # Encrypted at rest: a response may hold a secret (POST /v1/keys shows the new key once).
            await idempotency_rows.finish(
                session, record_id=record_id, status=captured["status"],
                body=cipher(scope_settings).encrypt(b"".join(captured["body"])).decode(),
                headers={k.decode(): v.decode() for k, v in captured["headers"]
                         if k.lower() in (b"content-type", b"location")})

    async def _replay(self, send: Send, scope: Scope, record: IdempotencyRecord) -> None:
        body = cipher(scope["app"].state.settings).decrypt((record.response_body or "").encode())
        headers = [(k.encode(), v.encode()) for k, v in (record.response_headers or {}).items()]
        headers += [(b"content-length", str(len(body)).encode()), (b"idempotent-replayed", b"true")]
        await send({"type": "http.response.start", "status": record.response_status or 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
