"""The one guarded HTTP client for outbound calls (SPEC §5).

Every call: http(s) only; the host is resolved once and the address actually connected
to must be public unless the operator's allow list names it (so DNS rebinding cannot
move the target); redirects are followed by hand, each hop checked again; the body is
read up to a cap; the whole exchange has one deadline.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json as jsonlib
import socket
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any, Iterable

import httpx

MAX_REDIRECTS = 5
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
METADATA_ADDRESSES = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_ALWAYS_STRIPPED = {"host", "content-length", "transfer-encoding", "connection"}
_CREDENTIAL_HEADERS = {"authorization", "proxy-authorization", "cookie"}
_UNSET: Any = object()

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class OutboundRefused(ValueError):
    """The URL or the address it leads to may not be called (a non-retryable mistake)."""


class ResolveError(OSError):
    """The host name did not resolve (may be temporary: retried)."""


@dataclass
class OutboundResponse:
    status_code: int
    headers: dict[str, str]
    body: bytes
    truncated: bool = False
    url: str = ""
    method: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def refusal_reason(ip: IPAddress) -> str | None:
    """Why `ip` may not be called (None: it is a public address)."""
    embedded = _embedded_ipv4(ip)
    if embedded is not None and (reason := refusal_reason(embedded)):
        return reason
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    checks = [
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT, "a CGNAT address"),
        (ip.is_private, "a private address"),
        (ip.is_reserved, "a reserved address"),
        (not ip.is_global, "not a public address"),
    ]
    return next((reason for hit, reason in checks if hit), None)


class AllowList:
    """The operator's `RELAY_OUTBOUND_ALLOW`: CIDRs and host names."""

    def __init__(self, entries: Iterable[str]) -> None:
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        self.hosts: set[str] = set()
        for entry in entries:
            entry = entry.strip()
            if not entry:
                continue
            try:
                self.networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                self.hosts.add(entry.lower().rstrip("."))

    def allows_host(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.hosts

    def allows_ip(self, ip: IPAddress) -> bool:
        forms = [ip] + ([e] if (e := _embedded_ipv4(ip)) else [])
        return any(form in net for form in forms for net in self.networks)


async def resolve_checked(host: str, port: int, allow: Iterable[str]) -> str:
    """Resolve `host` once and return the address to connect to, or raise OutboundRefused."""
    rules = allow if isinstance(allow, AllowList) else AllowList(allow)
    host = host.strip("[]")
    try:
        candidates: list[IPAddress] = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise ResolveError(f"cannot resolve host {host!r}: {exc}") from None
        candidates = []
        for info in infos:
            ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])
            if ip not in candidates:
                candidates.append(ip)
        if not candidates:
            raise ResolveError(f"host {host!r} has no address")
    reasons = []
    for ip in candidates:
        reason = refusal_reason(ip)
        if reason is None or rules.allows_host(host) or rules.allows_ip(ip):
            mapped = getattr(ip, "ipv4_mapped", None)
            return str(mapped or ip)
        reasons.append(f"{ip} is {reason}")
    raise OutboundRefused(
        f"refused to call {host}: {'; '.join(reasons)} "
        "(only the operator's RELAY_OUTBOUND_ALLOW can permit it)"
    )


def parse_url(url: str | httpx.URL) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise OutboundRefused(f"invalid URL {str(url)[:200]!r}: {exc}") from None
    if parsed.scheme not in ("http", "https"):
        raise OutboundRefused(f"only http and https URLs can be called, not {str(url)[:200]!r}")
    if not parsed.host:
        raise OutboundRefused(f"URL {str(url)[:200]!r} has no host")
    return parsed


def display_url(url: str | httpx.URL) -> str:
    """The URL without credentials or query string, for messages."""
    try:
        parsed = httpx.URL(url)
        return str(parsed.copy_with(query=None, fragment=None, userinfo=b""))
    except Exception:
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
) -> OutboundResponse:
    """Send one request under the rules above; raises OutboundRefused, httpx errors, OSError."""
    method = method.upper()
    target = parse_url(url)
    if params:
        target = target.copy_merge_params({k: _param(v) for k, v in params.items()})
    hdrs = httpx.Headers({k: v for k, v in (headers or {}).items() if k.lower() not in _ALWAYS_STRIPPED})
    if json is not _UNSET:
        content = jsonlib.dumps(json, separators=(",", ":"), default=str).encode()
        hdrs.setdefault("Content-Type", "application/json")
    hdrs["X-Relay-Depth"] = str(depth + 1)
    credentials = _CREDENTIAL_HEADERS | {h.lower() for h in sensitive_headers}
    rules = AllowList(allow)
    try:
        async with asyncio.timeout(timeout):
            for hop in range(MAX_REDIRECTS + 1):
                response, location = await _exchange(method, target, hdrs, content, rules, max_bytes, timeout)
                if location is None:
                    return response
                if hop == MAX_REDIRECTS:
                    raise OutboundRefused(f"{method} {display_url(url)}: more than {MAX_REDIRECTS} redirects")
                next_target = parse_url(target.join(location))
                if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
                    method, content = ("GET" if method != "HEAD" else method), None
                    for name in ("content-type", "content-encoding"):
                        hdrs.pop(name, None)
                if _origin(next_target) != _origin(target):
                    for name in credentials:
                        hdrs.pop(name, None)
                target = next_target
    except TimeoutError:
        raise httpx.TimeoutException(f"no complete answer within {timeout:g}s") from None
    raise AssertionError("unreachable")


async def _exchange(
    method: str,
    target: httpx.URL,
    headers: httpx.Headers,
    content: bytes | str | None,
    rules: AllowList,
    max_bytes: int,
    timeout: float,
) -> tuple[OutboundResponse, str | None]:
    host = target.raw_host.decode("ascii")
    port = target.port or (443 if target.scheme == "https" else 80)
    ip = await resolve_checked(host, port, rules)
    pinned = target.copy_with(host=ip)
    hdrs = headers.copy()
    hdrs["Host"] = target.netloc.decode("ascii")
    extensions: dict[str, Any] = {}
    if target.scheme == "https" and ip != host.strip("[]"):
        # TLS checks the certificate against the name; the connection goes to `ip`.
        extensions["sni_hostname"] = host
        # The pool keys connections by address, not name: never reuse one across names.
        hdrs["Connection"] = "close"
    client = shared_client()
    request = client.build_request(
        method, pinned, headers=hdrs, content=content, timeout=timeout, extensions=extensions
    )
    response = await client.send(request, stream=True)
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


def _origin(url: httpx.URL) -> tuple[str, bytes, int | None]:
    return url.scheme, url.raw_host.lower(), url.port


def _param(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict,)):
        return jsonlib.dumps(value)
    return value
