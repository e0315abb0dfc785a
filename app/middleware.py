"""Pure ASGI middleware: request ids and the last line of defence, and the body guard.

Both run before routing, so every response (404s and 500s included) carries X-Request-ID
and the error envelope, and no handler ever parses a body over the limit, nested too deep,
or JSON that app.strictjson refuses (NaN, Infinity, 1e400, lone surrogates, duplicate keys).
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from typing import Any
from urllib.parse import parse_qsl

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import strictjson
from app.db.session import unreachable
from app.errors import STATUS, envelope
from app.tracing import loggable_path

log = structlog.get_logger("relay.api")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
INLINE_PARSE_BYTES = 64 * 1024  # larger bodies are parsed in a worker thread, off the event loop


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def request_id_for(scope: Scope) -> str:
    """The request's id: a valid incoming X-Request-ID, echoed, or a new one."""
    incoming = header(scope, b"x-request-id") or ""
    return incoming if _REQUEST_ID.match(incoming) else f"req_{uuid.uuid4().hex}"


async def send_error(send: Send, scope: Scope, code: str, message: str,
                     details: list[Any] | None = None, headers: dict[str, str] | None = None) -> None:
    request_id = scope.get("state", {}).get("request_id", "")
    body = json.dumps(envelope(code, message, request_id, details)).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": STATUS[code], "headers": raw})
    await send({"type": "http.response.body", "body": body})


class RequestContextMiddleware:
    """X-Request-ID on every response (echoing a valid incoming one), rate-limit headers, no stack traces."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state["request_id"] = request_id_for(scope)
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", state["request_id"].encode()))
                quota = state.get("quota")
                if quota is not None:
                    present = {k.lower() for k, _ in headers}
                    headers += [(k.lower().encode(), v.encode()) for k, v in quota.headers().items()
                                if k.lower().encode() not in present]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as error:  # the last line of defence (logged with its traceback)
            if unreachable(error):  # a database restarting is no bug: 503, retry (docs/operations.md)
                log.warning("api.database_unavailable", path=loggable_path(scope.get("path", "")),
                            error=type(error).__name__)
                if not started:
                    await send_error(send_with_headers, scope, "database_unavailable",
                                     "the database is not reachable; try again", headers={"Retry-After": "1"})
                return
            log.exception("api.unhandled", path=loggable_path(scope.get("path", "")))
            if not started:
                await send_error(send_with_headers, scope, "internal_error", "internal error")


async def parse_body(body: bytes) -> tuple[bool, object]:
    """(is it JSON, its strict value); raises strictjson.NotStrict. Linear; big bodies off the loop."""
    if not body.strip():
        return False, None
    try:
        if len(body) > INLINE_PARSE_BYTES:
            return True, await asyncio.to_thread(strictjson.loads, body)
        return True, strictjson.loads(body)
    except strictjson.NotStrict:
        raise
    except (ValueError, RecursionError):  # not JSON at all: the route decides (400, or a hook's text body)
        return False, None


class BodyGuardMiddleware:
    """Reads the body once, refusing it with 413 past `max_bytes` (with or without Content-Length)
    and with 400 when it is JSON that app.strictjson refuses; hands the app the buffered body, and
    its parsed value as `state["json_body"]` when it is JSON. A NUL in the path or query is 400 first."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and ("\x00" in scope["path"] or b"%00" in scope.get("query_string", b"")):
            # no id, token or filter holds one, and PostgreSQL text cannot: every lookup with it was a 500
            where = "path" if "\x00" in scope["path"] else "query"
            await send_error(send, scope, "validation_error", f"NUL (%00) is not allowed in the {where}",
                             details=[{"path": where, "message": "NUL (%00) is not allowed", "value": "%00"}])
            return
        repeated = _repeated_parameter(scope.get("query_string", b"")) if scope["type"] == "http" else None
        if repeated is not None:  # every filter takes one value: which of two would count is a guess
            await send_error(send, scope, "validation_error", f"query parameter {repeated!r} is given more than once",
                             details=[{"path": f"query.{repeated}", "message": "give it once"}])
            return
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        too_large = f"request body over {self.max_bytes} bytes"
        length = header(scope, b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await send_error(send, scope, "payload_too_large", too_large)
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await send_error(send, scope, "payload_too_large", too_large)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        try:
            is_json, value = await parse_body(body)
        except strictjson.NotStrict as refused:
            await send_error(send, scope, "validation_error",
                             f"the request body is not accepted JSON: {refused.message}", details=[refused.detail()])
            return
        state = scope.setdefault("state", {})
        state["raw_body"] = body
        if is_json:
            state["json_body"] = value
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _repeated_parameter(query: bytes) -> str | None:
    """The first query parameter named twice (`?status=a&status=b`), else None. No route of the API
    takes a list in its query, and FastAPI would keep the last value without a word."""
    if b"&" not in query:
        return None
    seen: set[str] = set()
    for name, _ in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if name in seen:
            return name
        seen.add(name)
    return None
