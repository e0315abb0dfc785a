"""Which addresses outbound calls may reach (SPEC §5): the one policy, used by create-time
validation (workflow URLs, connection fields: `host_refusal`, `self_hook`) and by the run-time
guard (`resolve_checked`, for HTTP and SMTP).

Refused: private, loopback, link-local, CGNAT, unspecified, multicast, reserved and cloud
metadata addresses, also when embedded in IPv6 (IPv4-mapped or -compatible, 6to4, Teredo,
NAT64) — unless the operator's allow list (CIDRs or host names) names them. A literal host is
read the way libc's inet_aton reads it (`0x7f000001`, `2130706433`, `017700000001`, `127.1`,
`0`, a trailing dot), on both sides, so that create time sees the address the call would reach.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

METADATA_ADDRESSES = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LOOPBACK = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))
# Names that lead to a refused address without asking DNS (the hosts file, the cloud's resolver).
LOCAL_NAMES: dict[str, tuple[IPAddress, ...]] = {
    "localhost": _LOOPBACK, "localhost.localdomain": _LOOPBACK, "ip6-localhost": _LOOPBACK[1:],
    "ip6-loopback": _LOOPBACK[1:], "metadata.google.internal": (ipaddress.ip_address("169.254.169.254"),),
    "metadata": (ipaddress.ip_address("169.254.169.254"),),
}


class OutboundRefused(ValueError):
    """The URL or the address it leads to may not be called (a non-retryable mistake)."""


class ResolveError(OSError):
    """The host name did not resolve (may be temporary: retried)."""


def normal_host(host: str) -> str:
    """The host as the policy compares it: no brackets or IPv6 zone, lower case, no trailing dot."""
    return host.strip().strip("[]").split("%")[0].lower().rstrip(".")


def _aton_part(text: str) -> int | None:
    if text[:2] in ("0x", "0X"):
        digits, base = text[2:], 16
    elif len(text) > 1 and text[0] == "0":
        digits, base = text[1:], 8
    else:
        digits, base = text, 10
    if not digits:
        return 0 if base == 16 else None  # glibc reads "0x" as 0
    try:
        return int(digits, base) if digits.isalnum() and digits.isascii() else None
    except ValueError:
        return None


def parse_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """An IPv4 literal in any form inet_aton accepts: 1 to 4 parts, each decimal, 0x-hex or
    0-octal, the last filling the remaining bytes (`127.1`, `0x7f000001`, `2130706433`)."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(parts):
        return None
    values = [value for value in (_aton_part(part) for part in parts) if value is not None]
    if len(values) < len(parts):
        return None
    *head, last = values
    if any(v > 255 for v in head) or last >= 1 << (8 * (5 - len(parts))):
        return None
    number = last
    for i, value in enumerate(head):
        number |= value << (8 * (3 - i))
    return ipaddress.IPv4Address(number)


def parse_ip(host: str) -> IPAddress | None:
    """The address a literal host names (None for a name): IPv6 with or without brackets,
    IPv4 in inet_aton's forms, a trailing dot ignored."""
    text = normal_host(host)
    if ":" in text:
        try:
            return ipaddress.IPv6Address(text)
        except ValueError:
            return None
    return parse_ipv4(text) if text else None


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if 1 < int(ip) < 1 << 32:  # IPv4-compatible (::a.b.c.d, deprecated but still routed by some stacks)
        return ipaddress.IPv4Address(int(ip))
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
        return f"{reason} ({embedded}, embedded)"
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    checks = [
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local, "a site-local address"),  # fec0::/10
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
        return normal_host(host) in self.hosts

    def allows_ip(self, ip: IPAddress) -> bool:
        forms = [ip] + ([e] if (e := _embedded_ipv4(ip)) else [])
        return any(form in net for form in forms for net in self.networks)


def _rules(allow: Iterable[str] | AllowList) -> AllowList:
    return allow if isinstance(allow, AllowList) else AllowList(allow)


def _judge(host: str, candidates: Iterable[IPAddress], rules: AllowList) -> tuple[IPAddress | None, list[str]]:
    """The first candidate that may be called (public, or allowed by name or address), and
    why each one before it may not."""
    reasons: list[str] = []
    for ip in candidates:
        reason = refusal_reason(ip)
        if reason is None or rules.allows_host(host) or rules.allows_ip(ip):
            return ip, reasons
        reasons.append(f"{ip} is {reason}")
    return None, reasons


def _known(host: str) -> tuple[IPAddress, ...]:
    """The addresses a host names without DNS: a literal, or a local name (empty for others)."""
    ip = parse_ip(host)
    if ip is not None:
        return (ip,)
    name = normal_host(host)
    return LOCAL_NAMES.get(name) or (_LOOPBACK if name.endswith(".localhost") else ())


def host_refusal(host: str, allow: Iterable[str] | AllowList) -> str | None:
    """Create time, without DNS: why a literal host (an address in any form, or a local name
    such as `localhost.`) would be refused by `resolve_checked`; None for other names (they
    are checked on the address they resolve to when called) and for allowed hosts."""
    candidates = _known(host)
    if not candidates:
        return None
    allowed, reasons = _judge(host, candidates, _rules(allow))
    return None if allowed is not None else "; ".join(reasons)


def hooks_path(path: str) -> bool:
    """Whether a URL path leads to `/v1/hooks/…` once decoded and normalised as a server
    would (percent-escapes, `.`/`..` and empty segments, any prefix a proxy might add)."""
    segments: list[str] = []
    for segment in unquote(path).lower().split("/"):
        if segment == "..":
            segments = segments[:-1]
        elif segment not in ("", "."):
            segments.append(segment)
    return any(segments[i:i + 2] == ["v1", "hooks"] for i in range(len(segments) - 1))


def self_hook(host: str, port: int, path: str, public_url: str) -> bool:
    """Whether host:port/path is Relay's own `/v1/hooks/…` (a webhook step calling its own
    trigger loops): the public URL's host, or any loopback/unspecified form or local name when
    the API is local, compared as addresses, on the public URL's port."""
    if not hooks_path(path):
        return False
    public = urlsplit(public_url or "")
    if port != (public.port or (443 if public.scheme == "https" else 80)):
        return False
    public_host = public.hostname or ""
    if normal_host(host) == normal_host(public_host):
        return True
    mine, ours = _with_embedded(_known(host)), _with_embedded(_known(public_host))
    if mine & ours:
        return True
    local = any(ip.is_loopback or ip.is_unspecified for ip in mine)
    return local and (not public_host or any(ip.is_loopback or ip.is_unspecified for ip in ours))


def _with_embedded(ips: Iterable[IPAddress]) -> set[IPAddress]:
    found = set(ips)
    return found | {e for e in map(_embedded_ipv4, found) if e is not None}


async def resolve_checked(host: str, port: int, allow: Iterable[str] | AllowList) -> str:
    """Resolve `host` once and return the address to connect to, or raise OutboundRefused."""
    rules = _rules(allow)
    host = host.strip("[]")
    candidates: list[IPAddress] = list(_known(host))  # a literal, or a local name: as at create time
    if not candidates:
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
    allowed, reasons = _judge(host, candidates, rules)
    if allowed is not None:
        mapped = getattr(allowed, "ipv4_mapped", None)
        return str(mapped or allowed)
    raise OutboundRefused(
        f"refused to call {host}: {'; '.join(reasons)} "
        "(only the operator's RELAY_OUTBOUND_ALLOW can permit it)"
    )
