"""The guarded client against canaries (SPEC §5): loopback servers that must never be reached.

With the default (empty) allow list, no spelling of a loopback, unspecified, metadata or
IPv4-mapped address, no host name resolving to loopback, and no redirect from an allowed server
gets a single request to the canaries; once the operator allows loopback, the same spellings do.
The host is resolved once and the connection goes to that address. Bodies stop at the size cap
without being read whole, and a server that drips its answer is cut off by one overall deadline.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from temporalio.exceptions import ApplicationError

from activities import RelayActivities, outbound
from activities.outbound import OutboundRefused
from app.config import Settings
from tests.helpers.activities import action, make_settings, run
from tests.receivers import HttpReceiver
from worker import activity_settings

LOOPBACK_FORMS = [
    "http://127.0.0.1:{p}/", "http://localhost:{p}/", "http://LocalHost:{p}/", "http://[::1]:{p6}/",
    "http://0.0.0.0:{p}/", "http://[::]:{p6}/", "http://2130706433:{p}/", "http://017700000001:{p}/",
    "http://0x7f.1:{p}/", "http://0x7f000001:{p}/", "http://127.1:{p}/", "http://[::ffff:127.0.0.1]:{p}/",
    "http://[::ffff:7f00:1]:{p}/", "http://[0:0:0:0:0:ffff:127.0.0.1]:{p}/", "http://[::ffff:0.0.0.0]:{p}/",
    "http://user@127.0.0.1:{p}/", "http://example.com@127.0.0.1:{p}/",
]
METADATA_FORMS = [
    "http://169.254.169.254/latest/meta-data/", "http://[::ffff:169.254.169.254]/", "http://[::ffff:a9fe:a9fe]/",
    "http://2852039166/", "http://[fd00:ec2::254]/", "http://169.254.169.254:80/computeMetadata/v1/",
]
# What the operator's allow list for IPv4 loopback opens (each resolves to 127.0.0.1).
ALLOWED_BY_LOOPBACK = [
    "http://127.0.0.1:{p}/", "http://localhost:{p}/", "http://2130706433:{p}/", "http://017700000001:{p}/",
    "http://0x7f.1:{p}/", "http://127.1:{p}/", "http://[::ffff:127.0.0.1]:{p}/",
]


def hosts_file_loopback_names() -> list[str]:
    """Names other than localhost that /etc/hosts maps to a loopback address."""
    names: list[str] = []
    try:
        lines = Path("/etc/hosts").read_text().splitlines()
    except OSError:
        return names
    for line in lines:
        fields = line.split("#")[0].split()
        if len(fields) < 2:
            continue
        try:
            loopback = ipaddress.ip_address(fields[0]).is_loopback
        except ValueError:
            continue
        if loopback and isinstance(ipaddress.ip_address(fields[0]), ipaddress.IPv4Address):
            names += [name for name in fields[1:] if name.lower() != "localhost" and name not in names]
    return names[:3]


HOSTS_NAMES = hosts_file_loopback_names()


def default_settings() -> Settings:
    settings = Settings(env="test", smtp_host=None, outbound_timeout_seconds=5.0)
    assert settings.outbound_allow_list == [], "the default allow list is empty"
    return settings


class Canaries:
    def __init__(self, v4: HttpReceiver, v6: HttpReceiver | None) -> None:
        self.v4, self.v6 = v4, v6

    def url(self, form: str) -> str:
        return form.format(p=self.v4.port, p6=self.v6.port if self.v6 else self.v4.port)

    @property
    def hits(self) -> int:
        return len(self.v4.requests) + (len(self.v6.requests) if self.v6 else 0)


@pytest.fixture
async def canaries():
    async with HttpReceiver("127.0.0.1") as v4:
        try:
            v6: HttpReceiver | None = HttpReceiver("::1")
            await v6.start()
        except OSError:
            v6 = None
        try:
            yield Canaries(v4, v6)
        finally:
            if v6 is not None:
                await v6.stop()


def _needs_v6(form: str, canaries: Canaries) -> None:
    if "{p6}" in form and canaries.v6 is None:
        pytest.skip("no IPv6 loopback here")


async def send(url: str, allow: list[str], *, timeout: float = 5, max_bytes: int = 1024 * 1024):
    return await outbound.send("GET", url, timeout=timeout, allow=allow, max_bytes=max_bytes, depth=0)


@pytest.mark.parametrize("form", LOOPBACK_FORMS + [f"http://{name}:{{p}}/" for name in HOSTS_NAMES])
async def test_no_spelling_of_loopback_reaches_the_canary_by_default(canaries, form):
    _needs_v6(form, canaries)
    with pytest.raises(OutboundRefused):
        await send(canaries.url(form), default_settings().outbound_allow_list)
    assert canaries.hits == 0


@pytest.mark.parametrize("form", METADATA_FORMS)
async def test_metadata_addresses_are_refused_before_any_connection(form):
    started = time.monotonic()
    with pytest.raises(OutboundRefused):
        await send(form, default_settings().outbound_allow_list)
    assert time.monotonic() - started < 1  # refused up front: no connect attempt to wait out


@pytest.mark.parametrize("form", ["http://127.0.0.1:{p}/", "http://2130706433:{p}/", "http://localhost:{p}/",
                                  "http://[::ffff:127.0.0.1]:{p}/"])
async def test_the_webhook_action_with_default_settings_refuses_loopback(canaries, store, form):
    relay = RelayActivities(activity_settings(default_settings()), store)
    with pytest.raises(ApplicationError) as err:
        await run(relay.webhook, action({"url": canaries.url(form), "body": {"a": 1}}))
    assert err.value.type == "OutboundRefused" and err.value.non_retryable
    assert canaries.hits == 0


@pytest.mark.parametrize("form", ALLOWED_BY_LOOPBACK + [f"http://{name}:{{p}}/" for name in HOSTS_NAMES])
async def test_with_the_operator_allowing_loopback_the_canary_is_reached(canaries, form):
    response = await send(canaries.url(form), ["127.0.0.1/32"])
    assert response.status_code == 200 and canaries.hits == 1
    host = httpx.URL(canaries.url(form)).netloc.decode()
    assert canaries.v4.requests[0].headers["host"] == host  # the name asked for, though the address was pinned


async def test_allowing_by_host_name_and_ipv6_loopback(canaries):
    await send(canaries.url("http://localhost:{p}/"), ["localhost"])
    assert canaries.hits == 1
    if canaries.v6 is None:
        pytest.skip("no IPv6 loopback on this machine: the host-name half passed, the ::1 half did not run")
    await send(canaries.url("http://[::1]:{p6}/"), ["::1/128"])
    assert canaries.hits == 2


@pytest.fixture
async def redirector():
    """A server on 127.0.0.2, the one address the operator allows in the redirect tests."""
    receiver = HttpReceiver("127.0.0.2")
    try:
        await receiver.start()
    except OSError:
        pytest.skip("cannot bind 127.0.0.2 here")
    yield receiver
    await receiver.stop()


@pytest.mark.parametrize("form", [f for f in LOOPBACK_FORMS if "{p6}" not in f] + ["http://[::1]:{p6}/"])
@pytest.mark.parametrize("status", [302, 307])
async def test_a_redirect_from_an_allowed_server_to_loopback_is_refused(canaries, redirector, form, status):
    _needs_v6(form, canaries)
    redirector.respond(status, headers={"Location": canaries.url(form)})
    with pytest.raises(OutboundRefused):
        await send(f"{redirector.url}/start", ["127.0.0.2"])
    assert len(redirector.requests) == 1 and canaries.hits == 0


async def test_a_redirect_within_the_allowed_server_is_followed(canaries, redirector):
    redirector.respond(302, headers={"Location": "/next"})
    response = await send(f"{redirector.url}/start", ["127.0.0.2"])
    assert response.status_code == 200
    assert [r.path for r in redirector.requests] == ["/start", "/next"] and canaries.hits == 0


async def test_a_redirect_to_metadata_is_refused_through_the_webhook_action(redirector, store):
    relay = RelayActivities(activity_settings(make_settings(outbound_allow="127.0.0.2")), store)
    redirector.respond(307, headers={"Location": "http://[::ffff:169.254.169.254]/latest/meta-data/"})
    with pytest.raises(ApplicationError) as err:
        await run(relay.webhook, action({"url": redirector.url}))
    assert err.value.type == "OutboundRefused" and len(redirector.requests) == 1


class FixedPortReceiver(HttpReceiver):
    def __init__(self, host: str, port: int) -> None:
        super().__init__(host)
        self.fixed_port = port

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.fixed_port)
        self.port = self.fixed_port


async def test_a_name_is_resolved_once_and_the_checked_address_is_the_one_connected_to(canaries, monkeypatch):
    """DNS rebinding: the name first resolves to the allowed 127.0.0.2, then to the canary."""
    port = canaries.v4.port
    allowed = FixedPortReceiver("127.0.0.2", port)
    try:
        await allowed.start()
    except OSError:
        pytest.skip(f"port {port} is taken on 127.0.0.2")
    real = socket.getaddrinfo
    answers: list[str] = []

    def rebinding(host, *args, **kwargs):
        if host in ("rebind.test", b"rebind.test"):
            answers.append("127.0.0.2" if not answers else "127.0.0.1")
            return real(answers[-1], *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    try:
        response = await send(f"http://rebind.test:{port}/", ["127.0.0.2"])
    finally:
        await allowed.stop()
    assert response.status_code == 200 and answers == ["127.0.0.2"]
    assert len(allowed.requests) == 1 and allowed.requests[0].headers["host"] == f"rebind.test:{port}"
    assert canaries.hits == 0


class RawServer:
    """Answers every request by running `answer(writer)`; counts the body bytes it managed to send."""

    def __init__(self, answer: Callable[[RawServer, asyncio.StreamWriter], Awaitable[None]]) -> None:
        self.answer = answer
        self.sent = 0
        self.hits = 0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await reader.readuntil(b"\r\n\r\n")
            self.hits += 1
            await self.answer(self, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            self._tasks.discard(task)


FIFTY_MB = 50 * 1024 * 1024


async def fifty_megabytes(server: RawServer, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\n"
                 b"content-length: %d\r\n\r\n" % FIFTY_MB)
    chunk = b"x" * 65536
    while server.sent < FIFTY_MB:
        writer.write(chunk)
        await writer.drain()
        server.sent += len(chunk)


async def drip(server: RawServer, writer: asyncio.StreamWriter) -> None:
    """A valid 600-byte answer at one byte per second: each read succeeds well within any per-read timeout."""
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 600\r\n\r\n")
    await writer.drain()
    for _ in range(600):
        writer.write(b"x")
        await writer.drain()
        server.sent += 1
        await asyncio.sleep(1)


async def drip_headers(server: RawServer, writer: asyncio.StreamWriter) -> None:
    for byte in b"HTTP/1.1 200 OK\r\n" + b"x-slow: " + b"y" * 500:
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(0.5)


async def test_a_50_mb_answer_is_cut_at_the_cap_without_being_read_whole():
    cap = 1024 * 1024
    async with RawServer(fifty_megabytes) as server:
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            response = await send(server.url, ["127.0.0.1/32"], max_bytes=cap, timeout=30)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        await asyncio.sleep(0.2)
    assert response.truncated and len(response.body) == cap and response.body == b"x" * cap
    assert peak < 16 * 1024 * 1024, f"peak {peak} bytes while reading a capped answer"
    assert server.sent < FIFTY_MB // 2, f"the server got {server.sent} bytes out: the body was read on"


async def test_the_webhook_action_cuts_a_50_mb_answer_at_64_kib(store):
    relay = RelayActivities(activity_settings(make_settings(outbound_allow="127.0.0.1/32")), store)
    async with RawServer(fifty_megabytes) as server:
        result = await run(relay.webhook, action({"url": server.url, "method": "GET"}))
        await asyncio.sleep(0.2)
    assert result.output["truncated"] is True and len(result.output["body"]) == 64 * 1024
    assert server.sent < FIFTY_MB // 2


@pytest.mark.parametrize("answer", [drip, drip_headers], ids=["body", "headers"])
async def test_a_dripping_answer_is_cut_off_by_one_overall_deadline(answer):
    async with RawServer(answer) as server:
        started = time.monotonic()
        with pytest.raises(httpx.TimeoutException):
            await send(server.url, ["127.0.0.1/32"], timeout=2.5)
        elapsed = time.monotonic() - started
    assert server.hits == 1 and elapsed < 4, f"took {elapsed:.1f}s"


async def test_the_webhook_action_does_not_hang_on_a_drip(store):
    relay = RelayActivities(activity_settings(make_settings(outbound_allow="127.0.0.1/32")), store)
    async with RawServer(drip) as server:
        started = time.monotonic()
        with pytest.raises(ApplicationError) as err:
            await run(relay.webhook, action({"url": server.url, "method": "GET", "timeout": "2s"}))
        elapsed = time.monotonic() - started
    assert err.value.type == "NetworkError" and not err.value.non_retryable
    assert elapsed < 3.5 and server.sent <= 3, f"took {elapsed:.1f}s, {server.sent} bytes"
