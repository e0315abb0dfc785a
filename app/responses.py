"""The success envelope: {"data": …, "meta": {"request_id", …}}."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse


def ok(request: Request, data: Any, *, status_code: int = 200, meta: dict[str, Any] | None = None) -> JSONResponse:
    body = {"data": data, "meta": {"request_id": request.state.request_id, **(meta or {})}}
    return JSONResponse(jsonable_encoder(body), status_code=status_code)
