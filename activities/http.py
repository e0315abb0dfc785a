"""The `webhook` action (SPEC §2.4): one HTTP request to the tenant's URL."""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import urlsplit

from activities.base import ActionContext, check_no_newlines, invalid, parse_timeout, type_name
from activities.connections import ResolvedConnection
from activities.outbound import display_url, origin
from activities.scrub import redact_cut

MAX_OUTPUT_BODY = 64 * 1024
METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


async def webhook(ctx: ActionContext) -> dict[str, Any]:
    data = await ctx.resolved_input()
    method = str(data.get("method") or "POST").upper()
    if method not in METHODS:
        raise invalid(f"method {method!r} is not one of {', '.join(sorted(METHODS))}")
    conn = await ctx.connection("http", data.get("connection"), default=False)
    url = _url(data.get("url"), ctx.shown.get("url"), conn)
    headers = _headers(data.get("headers"), "headers")
    auth_headers = _auth_headers(conn)
    ctx.secrets.update(auth_headers.values())
    headers.update(auth_headers)
    headers["Idempotency-Key"] = ctx.action.idempotency_key
    query = data.get("query") or None
    if query is not None and not isinstance(query, dict):
        raise invalid(f"query must be an object, not {type_name(query)}")

    kwargs: dict[str, Any] = {}
    body = data.get("body")
    if isinstance(body, str):
        kwargs["content"] = body.encode()
        if not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = "text/plain; charset=utf-8"
    elif body is not None:
        kwargs["json"] = body

    timeout = parse_timeout(data.get("timeout"), ctx.settings.outbound_timeout_seconds)
    response = await ctx.http(
        method,
        url,
        shown=_shown_url(ctx.shown.get("url"), conn),
        headers=headers,
        params=query,
        timeout=timeout,
        max_bytes=min(MAX_OUTPUT_BODY, ctx.settings.outbound_max_response_bytes),
        sensitive_headers=auth_headers.keys(),
        **kwargs,
    )
    output: dict[str, Any] = {
        "status_code": response.status_code,
        "headers": response.headers,
        "body": _decode_body(response.body, response.headers.get("content-type", ""), response.truncated),
    }
    if response.truncated:
        output["truncated"] = True
        output["body"] = redact_cut(output["body"], ctx.secrets)  # a secret the cap cut in two
    return output


def _url(url: Any, shown: Any, conn: ResolvedConnection | None) -> str:
    """The URL to call; `shown` is the step's url with its secrets masked, for the messages."""
    if url is not None and not isinstance(url, str):
        raise invalid(f"url must be a string, not {type_name(url)}")
    url = (url or "").strip()
    base = str((conn.config.get("base_url") if conn else None) or "")
    absolute = bool(urlsplit(url).scheme and urlsplit(url).netloc)
    if base and not absolute:
        return base.rstrip("/") + ("/" + url.lstrip("/") if url else "")
    if not url:
        raise invalid("url is required (or a connection with a base_url)")
    if base and origin(url) != origin(base):
        # the connection's credentials belong to its base_url; a URL from trigger data must not take them elsewhere
        raise invalid(f"url {_shown_url(shown, None)} is outside the connection's base_url {display_url(base)}")
    return url


def _shown_url(shown: Any, conn: ResolvedConnection | None) -> str:
    """The URL as messages name it: from the masked input (`{{secrets.X}}` where a secret was),
    never from the resolved URL, so no parser can percent-encode or normalise a secret into it;
    without credentials, query string or fragment."""
    text = str(shown or "").strip()
    base = str((conn.config.get("base_url") if conn else None) or "")
    try:
        parts = urlsplit(text)
    except ValueError:
        return text.split("?")[0].split("#")[0]
    if base and not (parts.scheme and parts.netloc):
        return display_url(base.rstrip("/")) + ("/" + text.lstrip("/").split("?")[0].split("#")[0] if text else "")
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return f"{parts.scheme}://{netloc}{parts.path}" if parts.scheme else parts.path



def _headers(value: Any, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid(f"{what} must be an object, not {type_name(value)}")
    headers: dict[str, str] = {}
    for name, raw in value.items():
        if not isinstance(name, str) or not _TOKEN.match(name):
            raise invalid(f"{what}: {name!r} is not a valid header name")
        if raw is None:
            continue
        text = raw if isinstance(raw, str) else json.dumps(raw) if isinstance(raw, (dict, list, bool)) else str(raw)
        if not text.isascii():
            raise invalid(f"{what}: the value of {name!r} is not ASCII (encode it, e.g. percent-encoding)")
        headers[name] = check_no_newlines(f"header {name!r}", text)
    return headers


def _auth_headers(conn: ResolvedConnection | None) -> dict[str, str]:
    if conn is None:
        return {}
    secrets = conn.secrets
    headers = _headers(secrets.get("headers"), f"connection {conn.name!r} headers")
    if secrets.get("bearer_token"):
        token = check_no_newlines("bearer_token", str(secrets["bearer_token"]))
        if not token.isascii():  # httpx's UnicodeEncodeError would quote a character of it
            raise invalid(f"connection {conn.name!r}: its bearer_token is not ASCII, so no header can carry it")
        headers["Authorization"] = f"Bearer {token}"
    elif secrets.get("username") is not None and secrets.get("password") is not None:
        pair = f"{secrets['username']}:{secrets['password']}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    return headers


def _decode_body(body: bytes, content_type: str, truncated: bool) -> Any:
    text = body.decode("utf-8", errors="replace")
    media = content_type.split(";")[0].strip().lower()
    if not truncated and (media == "application/json" or media.endswith("+json")):
        try:
            return json.loads(text) if text.strip() else None
        except ValueError:
            return text
    return text
