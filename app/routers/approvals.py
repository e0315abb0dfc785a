"""Approvals (SPEC §2.4; docs/approvals.md): the API decision, and the public page of a link.

`GET /v1/approvals/{token}` shows the message and one confirm button and decides nothing (mail
systems open links to scan them); the page's POST decides. The token is the credential: no API
key, never logged (app/tracing.py `loggable_path`), answers never cached nor sent as a referrer.
A browser (Accept: text/html) gets errors as a small page; any other client the JSON envelope.
"""

from __future__ import annotations

import html
from typing import Annotated, Literal
from urllib.parse import parse_qs

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from app import views
from app.deps import SettingsDep, TemporalDep, WriteInstances
from app.errors import STATUS
from app.responses import ok
from app.services import approvals
from app.services.errors import DomainError
from workflows.definition import BLOCK_ID_PATTERN, Name

router = APIRouter(tags=["approvals"])
Token = Annotated[str, Path(max_length=512, pattern=r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")]
BlockId = Annotated[str, Path(max_length=64, pattern=BLOCK_ID_PATTERN)]
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
           "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"}
VERBS = {"approved": "Approve", "rejected": "Reject"}


class DecisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approved", "rejected"]
    by: Annotated[Name, Field(max_length=200)] | None = None
    comment: Annotated[str, Field(max_length=2000)] | None = None


@router.post("/instances/{instance_id}/approvals/{block_id}", response_model=views.one(views.ApprovalView))
async def decide(request: Request, instance_id: str, block_id: BlockId, body: DecisionBody,
                 principal: WriteInstances, temporal: TemporalDep):
    decided = await approvals.decide(temporal, tenant_id=principal.tenant_id, instance_id=instance_id,
                                     block_id=block_id, decision=body.decision, by=body.by, comment=body.comment)
    return ok(request, decided)


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    document = (f"<!doctype html><html><head><meta charset=utf-8><meta name=viewport content='width=device-width'>"
                f"<meta name=referrer content=no-referrer><title>{html.escape(title)}</title></head>"
                f"<body style='font-family:sans-serif;max-width:36em;margin:3em auto'><h1>{html.escape(title)}</h1>"
                f"{body}</body></html>")
    return HTMLResponse(document, status_code=status, headers=HEADERS)


def _refused(request: Request, error: DomainError) -> Response:
    if "text/html" not in request.headers.get("accept", ""):
        raise error
    title = "This link has expired" if error.kind == "gone" else "This link cannot be used"
    return _page(title, f"<p>{html.escape(error.message)}</p>", STATUS.get(error.kind, 500))


PAGE = {200: {"description": "the page", "content": {"text/html": {"schema": {"type": "string"}}}}}


@router.get("/approvals/{token}", response_class=HTMLResponse, responses=PAGE)  # type: ignore[arg-type]
async def approval_page(request: Request, token: Token, temporal: TemporalDep, settings: SettingsDep) -> Response:
    try:
        link = approvals.link_of(settings, token)
        message, _ = await approvals.pending(temporal, link)
    except DomainError as error:
        return _refused(request, error)
    verb = VERBS[link.decision]
    shown = html.escape(message) if message is not None else "(the run has not reached this approval yet)"
    form = ("<form method=post><p><label>Your name <input name=by maxlength=200></label></p>"
            "<p><label>Comment <textarea name=comment maxlength=2000></textarea></label></p>"
            f"<p><button type=submit>{verb}</button></p></form>")
    return _page(f"{verb}?", f"<p style='white-space:pre-wrap'>{shown}</p>{form}")


@router.post("/approvals/{token}", response_class=HTMLResponse, responses=PAGE)  # type: ignore[arg-type]
async def approval_confirm(request: Request, token: Token, temporal: TemporalDep, settings: SettingsDep) -> Response:
    fields = _fields(await request.body(), request.scope.get("state", {}))
    try:
        link = approvals.link_of(settings, token)
        decided = await approvals.decide(temporal, tenant_id=link.tenant_id, instance_id=link.instance_id,
                                         block_id=link.block_id, decision=link.decision, by=fields.get("by"),
                                         comment=fields.get("comment"), gone_when_ended=True)
    except DomainError as error:
        return _refused(request, error)
    return _page("Thank you", f"<p>Recorded: {html.escape(str(decided['decision']))}.</p>")


def _fields(raw: bytes, state: dict[str, object]) -> dict[str, str]:
    """`by` and `comment` from a form (or a JSON object), one line of at most 200 / 2000 characters."""
    given: dict[str, object] = {}
    body = state.get("json_body")
    if isinstance(body, dict):
        given = body
    elif raw:
        given = {key: values[0] for key, values in parse_qs(raw.decode("utf-8", "replace")).items()}
    found = {}
    for key, limit in (("by", 200), ("comment", 2000)):
        value = given.get(key)
        if isinstance(value, str) and value.strip():
            found[key] = value.replace("\x00", "")[:limit] if key == "comment" else " ".join(value.split())[:limit]
    return found
