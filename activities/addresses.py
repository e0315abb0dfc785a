"""Which addresses outbound calls may reach (SPEC §5).

Refused: private, loopback, link-local, CGNAT, unspecified, multicast, reserved and cloud
metadata addresses, also when embedded in IPv6 (IPv4-mapped, 6to4, Teredo, NAT64) —
unless the operator's allow list (CIDRs or host names) names them.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable

METADATA_ADDRESSES = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class OutboundRefused(ValueError):
    """The URL or the address it leads to may not be called (a non-retryable mistake)."""


class ResolveError(OSError):
    """The host name did not resolve (may be temporary: retried)."""


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
            raise ResolveError(f"host {host!r} has no address") from None
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
