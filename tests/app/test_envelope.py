"""app/responses.py EnvelopeResponse: the success envelope in one json.dumps, as FastAPI's
encoder rendered it (datetimes, models, separators), strict JSON out, never a 500 for a key."""

from __future__ import annotations

import enum
import json
from datetime import UTC, date, datetime

from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel

from app.responses import EnvelopeResponse, SafeJSONResponse


class Step(BaseModel):
    id: str
    ended_at: datetime


class Kind(enum.Enum):
    ONE = 1


def test_json_native_content_renders_as_fastapis_encoder_did():
    content = {"data": {"when": datetime(2026, 11, 26, 20, 0, tzinfo=UTC), "day": date(2026, 11, 26),
                        "step": Step(id="s", ended_at=datetime(2026, 11, 26, tzinfo=UTC)), "pair": (1, 2),
                        "kind": Kind.ONE, "text": "é\u2028", "n": [1, 2.5, None, True]}, "meta": {"request_id": "r"}}
    assert EnvelopeResponse(content).body == SafeJSONResponse(jsonable_encoder(content)).body


def test_user_keys_beginning_with_sa_are_served_in_every_path():
    """jsonable_encoder dropped keys beginning with `_sa`; in a run's data they are the user's."""
    assert json.loads(EnvelopeResponse({"data": {"_sample": 1}}).body) == {"data": {"_sample": 1}}
    strict = json.loads(EnvelopeResponse({"data": {"_sample": float("nan"), "s": "\ud800"}}).body)
    assert strict == {"data": {"_sample": None, "s": "\ufffd"}}


def test_a_key_json_has_no_form_for_is_converted_not_a_500():
    assert json.loads(EnvelopeResponse({date(2026, 1, 1): 1, Kind.ONE: 2}).body) == {"2026-01-01": 1, "1": 2}
