"""The one guarded HTTP client for outbound calls (SPEC §5).

Every call: http(s) only; the host is resolved once and the address actually connected
to must be public unless the operator's allow list names it (so DNS rebinding cannot
move the target); redirects are followed by hand, each hop checked again; the body is
read up to a cap; the whole exchange has one deadline.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
from collections.abc import Iterable
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx
from opentelemetry.trace import Span

from activities import scrub
from activities.addresses import (  # noqa: F401  (re-exported: the rules belong to this client)
    AllowList,
    OutboundRefused,
    ResolveError,
    hooks_path,
    host_refusal,
    refusal_reason,
    resolve_checked,
    self_hook,
)
from activities.tracing import outbound_span

MAX_REDIRECTS = 5
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
_ALWAYS_STRIPPED = {"host", "content-length", "transfer-encoding", "connection"}
_CREDENTIAL_HEADERS = {"authorization", "proxy-authorization", "cookie"}
_UNSET: Any = object()


@dataclass
class OutboundResponse:
    status_code: int
    headers: dict[str, str]
    body: bytes
    truncated: bool = False
    url: str = ""
    method: str = ""


def parse_url(url: str | httpx.URL) -> httpx.URL:
    """The parsed URL, or OutboundRefused saying what is wrong with it; the message never quotes
    the URL (it may hold a secret): the caller names the step input instead."""
    try:
        parsed = httpx.URL(url)
        host = parsed.host  # decoded lazily: a label that is not valid punycode fails here (IDNAError)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise OutboundRefused("not a valid URL") from None
    if parsed.scheme not in ("http", "https"):
        raise OutboundRefused("only http and https URLs can be called")
    if not host:
        raise OutboundRefused("the URL has no host")
    return parsed


def display_url(url: str | httpx.URL) -> str:
    """The URL without credentials or query string, for messages."""
    try:
        parsed = httpx.URL(url)
        return str(parsed.copy_with(query=None, fragment=None, userinfo=b""))
    except Exception:  # noqa: BLE001 - whatever cannot be parsed is shown cut, never raised from a message
        return str(url).split("?")[0][:200]


_client: httpx.AsyncClient | None = None
_client_loop: asyncio.AbstractEventLoop | None = None


def shared_client() -> httpx.AsyncClient:
    """One pooled client per process (per event loop); never stores cookies."""
    global _client, _client_loop
    loop = asyncio.get_running_loop()
    if _client is None or _client.is_closed or _client_loop is not loop:
        no_cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
        _client = httpx.AsyncClient(
            trust_env=False,  # a proxy from the environment would bypass address pinning
            follow_redirects=False,
            cookies=no_cookies,
            headers={"User-Agent": "Relay/1"},
        )
        _client_loop = loop
    return _client


async def aclose_client() -> None:
    global _client
    if _client is not None:
        await _client.aclose()
        _client = None


async def send(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    params: dict[str, Any] | None = None,
    json: Any = _UNSET,
    content: bytes | str | None = None,
    timeout: float,
    allow: Iterable[str],
    max_bytes: int,
    depth: int,
    sensitive_headers: Iterable[str] = (),
    secrets: Iterable[str] = (),
    own_url: str = "",
) -> OutboundResponse:
    """Send one request under the rules above; raises OutboundRefused, httpx errors, OSError.

    `secrets` are the values the step resolved: a header carrying one is dropped, and a body
    carrying one is not sent, when a redirect leads to another origin. `own_url` is Relay's
    public URL: no hop may reach its `/v1/hooks/…` (by name, or by the address connected to)."""
    method = method.upper()
    target, hdrs, content = _prepared(url, headers, params, json, content, depth)
    secrets = [value for value in secrets if value]
    credentials = (_CREDENTIAL_HEADERS | {h.lower() for h in sensitive_headers}
                   | {name.lower() for name, value in hdrs.items() if scrub.contains(value, secrets)})
    rules = AllowList(allow)
    try:
        async with asyncio.timeout(timeout):
            for hop in range(MAX_REDIRECTS + 1):
                response, location = await _exchange(method, target, hdrs, content, rules, max_bytes, timeout,
                                                    own_url)
                if location is None:
                    return response
                if hop == MAX_REDIRECTS:
                    raise OutboundRefused(f"more than {MAX_REDIRECTS} redirects")
                try:
                    next_target = parse_url(target.join(location))
                except (OutboundRefused, httpx.InvalidURL, ValueError) as exc:
                    raise OutboundRefused(f"redirected to a URL that cannot be followed ({exc})") from None
                if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
                    method, content = ("GET" if method != "HEAD" else method), None
                    for name in ("content-type", "content-encoding"):
                        hdrs.pop(name, None)
                if origin(next_target) != origin(target):
                    for name in credentials:
                        hdrs.pop(name, None)
                    body = content.decode("utf-8", "replace") if isinstance(content, bytes) else content or ""
                    if scrub.contains(body, secrets):  # raw, JSON-escaped, form-encoded...
                        raise OutboundRefused("redirected to another origin with a body that carries a secret; "
                                              "not followed")
                target = next_target
    except TimeoutError:
        raise httpx.TimeoutException(f"no complete answer within {timeout:g}s") from None
    raise AssertionError("unreachable")


def _prepared(url: str, headers: dict[str, str] | None, params: dict[str, Any] | None, json: Any,
              content: bytes | str | None, depth: int) -> tuple[httpx.URL, httpx.Headers, bytes | str | None]:
    """The first hop's URL, headers (X-Relay-Depth one deeper) and body."""
    target = parse_url(url)
    if params:
        target = target.copy_merge_params({k: _param(v) for k, v in params.items()})
    hdrs = httpx.Headers({k: v for k, v in (headers or {}).items() if k.lower() not in _ALWAYS_STRIPPED})
    if json is not _UNSET:
        content = jsonlib.dumps(json, separators=(",", ":"), default=str).encode()
        hdrs.setdefault("Content-Type", "application/json")
    hdrs["X-Relay-Depth"] = str(depth + 1)
    return target, hdrs, content


async def _exchange(
    method: str,
    target: httpx.URL,
    headers: httpx.Headers,
    content: bytes | str | None,
    rules: AllowList,
    max_bytes: int,
    timeout: float,
    own_url: str = "",
) -> tuple[OutboundResponse, str | None]:
    host = target.raw_host.decode("ascii")
    port = target.port or (443 if target.scheme == "https" else 80)
    ip = await resolve_checked(host, port, rules)
    path = target.raw_path.decode("ascii").split("?")[0]
    if own_url and (self_hook(host, port, path, own_url) or self_hook(ip, port, path, own_url)):
        raise OutboundRefused(f"{method} {display_url(target)}: a step may not call Relay's own hooks")
    pinned = target.copy_with(host=ip)
    hdrs = headers.copy()
    hdrs["Host"] = target.netloc.decode("ascii")
    extensions: dict[str, Any] = {}
    if target.scheme == "https" and ip != host.strip("[]"):
        # TLS checks the certificate against the name; the connection goes to `ip`.
        extensions["sni_hostname"] = host
        # The pool keys connections by address, not name: never reuse one across names.
        hdrs["Connection"] = "close"
    with outbound_span(method, host, port, hdrs) as span:
        return await _send(method, target, pinned, hdrs, content, timeout, extensions, max_bytes, span)


async def _send(method: str, target: httpx.URL, pinned: httpx.URL, hdrs: httpx.Headers,
                content: bytes | str | None, timeout: float, extensions: dict[str, Any], max_bytes: int,
                span: Span | None) -> tuple[OutboundResponse, str | None]:
    client = shared_client()
    request = client.build_request(
        method, pinned, headers=hdrs, content=content, timeout=timeout, extensions=extensions
    )
    response = await client.send(request, stream=True)
    if span is not None:
        span.set_attribute("http.response.status_code", response.status_code)
    try:
        location = response.headers.get("location")
        if response.status_code in REDIRECT_STATUSES and location:
            return _result(response, b"", False, target, method), location
        chunks: list[bytes] = []
        size, truncated = 0, False
        async for chunk in response.aiter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size > max_bytes:
                truncated = True
                break
        body = b"".join(chunks)[:max_bytes]
        return _result(response, body, truncated, target, method), None
    finally:
        await response.aclose()


def _result(response: httpx.Response, body: bytes, truncated: bool, target: httpx.URL, method: str) -> OutboundResponse:
    return OutboundResponse(
        status_code=response.status_code,
        headers=dict(response.headers.items()),
        body=body,
        truncated=truncated,
        url=str(target),
        method=method,
    )


def origin(url: str | httpx.URL) -> tuple[str, bytes, int | None]:
    """Scheme, host and port: where credentials may go."""
    url = httpx.URL(url) if isinstance(url, str) else url
    return url.scheme, url.raw_host.lower(), url.port


def _param(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict,)):
        return jsonlib.dumps(value)
    return value


def url_refusal(url: str, allow: list[str], public_url: str = "") -> list[str]:
    """Why an outbound URL is refused at create time (empty: fine), by the one address policy
    the run-time guard applies: parsed by the same client (`activities.outbound.parse_url`), the
    host read as libc would (`activities.addresses`), the operator's allow list honoured alike.
    A name other than a local one is judged when called, on the address it resolves to."""
    try:
        parsed = parse_url(url)
    except OutboundRefused:
        return ["must be an http(s) URL"]
    host = parsed.raw_host.decode("ascii", "replace")
    problems = []
    why = host_refusal(host, allow)
    if why:
        problems.append(f"refused address {host!r}: {why}")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    target = parsed.raw_path.decode("ascii", "replace").split("?")[0]
    if hooks_path(target) and (why or self_hook(host, port, target, public_url)):
        problems.append("a webhook action may not call Relay's own hooks")
    return problems
