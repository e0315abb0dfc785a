"""Pure ASGI middleware: request ids and the last line of defence, and the body guard.

Both run before routing, so every response (404s and 500s included) carries X-Request-ID
and the error envelope, and no handler ever parses a body over the limit or nested too deep.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import STATUS, envelope

log = structlog.get_logger("relay.api")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")
MAX_JSON_DEPTH = 200


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


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
        incoming = header(scope, b"x-request-id") or ""
        state["request_id"] = incoming if _REQUEST_ID.match(incoming) else f"req_{uuid.uuid4().hex}"
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
        except Exception:  # noqa: BLE001 - the last line of defence
            log.exception("api.unhandled", path=loggable_path(scope.get("path", "")))
            if not started:
                await send_error(send_with_headers, scope, "internal_error", "internal error")


def loggable_path(path: str) -> str:
    """The path without credentials: a webhook's token is the key to trigger it."""
    return "/v1/hooks/{token}" if path.startswith("/v1/hooks/") else path


def json_depth(body: bytes) -> int:
    depth = deepest = 0
    for match in _BRACKETS.finditer(_STRINGS.sub(b"", body)):
        if match.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


class BodyGuardMiddleware:
    """Reads the body once, refusing it with 413 past `max_bytes` (with or without Content-Length)
    and with 400 when its JSON nests deeper than MAX_JSON_DEPTH; hands the app the buffered body."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
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
        if json_depth(body) > MAX_JSON_DEPTH:
            await send_error(send, scope, "validation_error", f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
            return
        scope.setdefault("state", {})["raw_body"] = body
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
