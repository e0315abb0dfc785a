"""CORS for the browsers of `RELAY_CORS_ORIGINS` (SPEC §3.3), with preflights answered as Relay
answers everything else (SPEC §3): they carry X-Request-ID, and a refused one is a 400
`validation_error` in the error envelope naming what is not allowed, not Starlette's plain text."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from app.errors import envelope
from app.middleware import request_id_for

# Starlette's refusal text is "Disallowed CORS " and these, comma-separated: what each one names
_REFUSED = {"origin": ("header.origin", "origin"), "method": ("header.access-control-request-method", "method"),
            "headers": ("header.access-control-request-headers", "headers"),
            "private-network": ("header.access-control-request-private-network", "private network access")}


class RelayCORSMiddleware(CORSMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope) if scope["type"] == "http" else None
        if headers is None or scope["method"] != "OPTIONS" or "origin" not in headers \
                or "access-control-request-method" not in headers:
            await super().__call__(scope, receive, send)
            return
        request_id = request_id_for(scope)
        response = self.preflight_response(request_headers=headers)
        if response.status_code == 400:
            refused = bytes(response.body).decode().removeprefix("Disallowed CORS ").split(", ")
            details = [self._refused(what, headers) for what in refused]
            kept = {k: v for k, v in response.headers.items() if k not in ("content-type", "content-length")}
            response = JSONResponse(envelope("validation_error", "this cross-origin request is not allowed",
                                             request_id, details), status_code=400, headers=kept)
        response.headers["X-Request-ID"] = request_id
        await response(scope, receive, send)


    def _refused(self, what: str, headers: Headers) -> dict[str, Any]:
        path, name = _REFUSED.get(what, (f"header.{what}", what))
        value = headers.get(path.removeprefix("header."), "")
        if what == "headers":  # the request headers that are not allowed, not the whole list
            asked = (h.strip() for h in value.lower().split(","))
            value = ", ".join(h for h in asked if h and h not in self.allow_headers)
        return {"path": path, "message": f"{name} not allowed: {value[:120]!r}"}
