"""The success envelope: {"data": …, "meta": {"request_id", …}}."""

from __future__ import annotations

import contextlib
import json
import math
from datetime import date
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from app.db.repo.pages import Page
from app.strictjson import SURROGATE
from relay_common.walk import map_leaves


class SafeJSONResponse(JSONResponse):
    """Strict JSON out, even for a row stored before bodies were strict: a non-finite number is
    served as null and a lone surrogate as U+FFFD, rather than failing every read with a 500."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except ValueError:  # NaN/Infinity (allow_nan=False) or a lone surrogate (UnicodeEncodeError)
            return super().render(servable(content))


class EnvelopeResponse(SafeJSONResponse):
    """A success envelope rendered in one pass: json.dumps with FastAPI's encoder only for what
    JSON has no type for (a datetime, a model), instead of copying the whole answer through
    jsonable_encoder first. The same separators, key order and ISO datetimes; one difference:
    jsonable_encoder dropped every key beginning with `_sa` (for SQLAlchemy's own attributes),
    which in a run's data or a definition is the user's data, so it is served now."""

    def render(self, content: Any) -> bytes:
        with contextlib.suppress(TypeError):  # a key JSON has no form for (a date): FastAPI's encoder below
            try:
                return _dumps(content)
            except ValueError:  # NaN/Infinity or a lone surrogate: served as null and U+FFFD
                with contextlib.suppress(ValueError):  # inside a value only FastAPI's encoder opens
                    return _dumps(servable(content))
        return super().render(jsonable_encoder(content))


def _dumps(content: Any) -> bytes:
    return json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"),
                      default=_encodable).encode("utf-8")


def _encodable(value: Any) -> Any:
    if isinstance(value, date):  # datetime too: what jsonable_encoder answers for both
        return value.isoformat()
    return jsonable_encoder(value)


def servable(value: Any) -> Any:
    return map_leaves(value, _servable, key=_servable)


def _servable(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return SURROGATE.sub("\ufffd", value)
    return value


def ok(request: Request, data: Any, *, status_code: int = 200, meta: dict[str, Any] | None = None) -> JSONResponse:
    body = {"data": data, "meta": {"request_id": request.state.request_id, **(meta or {})}}
    return EnvelopeResponse(body, status_code=status_code)


def ok_page(request: Request, page: Page[Any]) -> JSONResponse:
    """A list answer: the page's items as `data`, its total, page, limit and has_more in `meta`."""
    return ok(request, page.items, meta=page.meta())


def ok_list(request: Request, items: list[Any]) -> JSONResponse:
    """A list served whole, with the meta of a single page."""
    return ok_page(request, Page.whole(items))
