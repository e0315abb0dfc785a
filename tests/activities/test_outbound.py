"""The guarded outbound client: address rules, redirects, size caps; Retry-After parsing."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from temporalio.exceptions import ApplicationError

from activities import RelayActivities, outbound
from activities.errors import retry_after
from activities.outbound import OutboundRefused, refusal_reason, resolve_checked
from tests.helpers.activities import action, make_settings, run
from worker import activity_settings

LOOPBACK = ["127.0.0.1/32"]


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
        "0.0.0.0", "224.0.0.1", "240.0.0.1", "::1", "::", "fe80::1", "fc00::1", "fd00:ec2::254",
        "::ffff:127.0.0.1", "::ffff:169.254.169.254", "64:ff9b::a00:1", "2002:7f00:1::1", "ff02::1",
    ],
)
def test_non_public_addresses_are_refused(address):
    assert refusal_reason(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_pass(address):
    assert refusal_reason(ipaddress.ip_address(address)) is None


async def test_allow_list_takes_cidrs_and_host_names():
    assert await resolve_checked("127.0.0.1", 80, ["127.0.0.1/32"]) == "127.0.0.1"
    assert await resolve_checked("::ffff:127.0.0.1", 80, ["127.0.0.1/32"]) == "127.0.0.1"
    assert await resolve_checked("localhost", 80, ["localhost"]) in ("127.0.0.1", "::1")
    with pytest.raises(OutboundRefused):
        await resolve_checked("localhost", 80, [])
    with pytest.raises(OutboundRefused):
        await resolve_checked("10.0.0.1", 80, ["127.0.0.1/32"])


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:{port}/", "http://169.254.169.254/latest/meta-data/", "http://[::ffff:127.0.0.1]:{port}/",
     "http://[::1]:{port}/", "http://localhost:{port}/"],
)
async def test_webhook_to_internal_address_is_refused_when_not_allowed(store, receiver, url):
    relay = RelayActivities(activity_settings(make_settings(outbound_allow="")), store)
    with pytest.raises(ApplicationError) as err:
        await run(relay.webhook, action({"url": url.format(port=receiver.port)}))
    assert err.value.type == "OutboundRefused" and err.value.non_retryable
    assert receiver.requests == []


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd", "http:///nohost", "not a url"])
async def test_non_http_urls_are_refused(relay, url):
    with pytest.raises(ApplicationError) as err:
        await run(relay.webhook, action({"url": url}))
    assert err.value.type == "OutboundRefused" and err.value.non_retryable


async def test_redirects_are_followed_and_checked_each_hop(relay, receiver):
    receiver.respond(302, headers={"Location": "/second"})
    receiver.respond(307, headers={"Location": f"{receiver.url}/third"})
    receiver.respond(200, {"done": True})
    result = await run(relay.webhook, action({"url": f"{receiver.url}/first", "body": {"a": 1}}))
    assert result.output["body"] == {"done": True}
    assert [(r.method, r.path) for r in receiver.requests] == [("POST", "/first"), ("GET", "/second"), ("GET", "/third")]


async def test_307_keeps_method_and_body(relay, receiver):
    receiver.respond(307, headers={"Location": "/again"})
    await run(relay.webhook, action({"url": receiver.url, "body": {"a": 1}}))
    assert receiver.requests[1].method == "POST" and receiver.requests[1].json() == {"a": 1}


async def test_redirect_to_refused_address_is_refused(relay, receiver):
    receiver.respond(302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    with pytest.raises(ApplicationError) as err:
        await run(relay.webhook, action({"url": receiver.url}))
    assert err.value.type == "OutboundRefused" and err.value.non_retryable
    assert len(receiver.requests) == 1


async def test_redirect_loop_stops_after_five_hops(relay, receiver):
    for _ in range(7):
        receiver.respond(302, headers={"Location": "/loop"})
    with pytest.raises(ApplicationError) as err:
        await run(relay.webhook, action({"url": receiver.url}))
    assert err.value.non_retryable and "redirects" in err.value.message
    assert len(receiver.requests) == 6


async def test_cross_origin_redirect_drops_credentials(receiver):
    async with type(receiver)() as other:
        receiver.respond(307, headers={"Location": f"http://localhost:{other.port}/x"})
        await outbound.send(
            "POST", receiver.url, headers={"Authorization": "Bearer t", "X-Key": "k", "X-Plain": "p"},
            json={}, timeout=5, allow=["127.0.0.1/32", "localhost"], max_bytes=1000, depth=0,
            sensitive_headers=["X-Key"],
        )
    assert receiver.requests[0].headers["authorization"] == "Bearer t"
    moved = other.requests[0].headers
    assert "authorization" not in moved and "x-key" not in moved and moved["x-plain"] == "p"


async def test_a_cross_origin_redirect_carries_no_resolved_secret(receiver):
    """A user's header with a {{secrets.X}} value is dropped like a credential; a body with one is not re-sent."""
    async with type(receiver)() as other:
        receiver.respond(307, headers={"Location": f"http://localhost:{other.port}/x"})
        await outbound.send(
            "POST", receiver.url, headers={"X-Api-Key": "key=s3cr3t-value", "X-Plain": "p"},
            json={}, timeout=5, allow=["127.0.0.1/32", "localhost"], max_bytes=1000, depth=0,
            secrets={"s3cr3t-value"},
        )
        assert receiver.requests[0].headers["x-api-key"] == "key=s3cr3t-value"
        moved = other.requests[0].headers
        assert "x-api-key" not in moved and moved["x-plain"] == "p"
        receiver.respond(308, headers={"Location": f"http://localhost:{other.port}/y"})
        with pytest.raises(OutboundRefused, match="carries a secret"):
            await outbound.send("POST", receiver.url, json={"token": "s3cr3t-value"}, timeout=5,
                                allow=["127.0.0.1/32", "localhost"], max_bytes=1000, depth=0,
                                secrets={"s3cr3t-value"})
        assert [r.path for r in other.requests] == ["/x"]


async def test_body_is_capped_and_marked_truncated(receiver):
    receiver.respond(200, b"a" * 5000)
    response = await outbound.send("GET", receiver.url, timeout=5, allow=LOOPBACK, max_bytes=1000, depth=0)
    assert response.truncated and response.body == b"a" * 1000
    receiver.respond(200, b"a" * 1000)
    response = await outbound.send("GET", receiver.url, timeout=5, allow=LOOPBACK, max_bytes=1000, depth=0)
    assert not response.truncated and len(response.body) == 1000


async def test_one_client_is_shared_between_calls(receiver):
    await outbound.send("GET", receiver.url, timeout=5, allow=LOOPBACK, max_bytes=100, depth=0)
    first = outbound.shared_client()
    await outbound.send("GET", receiver.url, timeout=5, allow=LOOPBACK, max_bytes=100, depth=0)
    assert outbound.shared_client() is first


def test_retry_after_reads_seconds_and_dates_and_caps_at_an_hour():
    now = datetime(2030, 1, 1, tzinfo=UTC)
    assert retry_after("30") == timedelta(seconds=30)
    assert retry_after("999999") == timedelta(hours=1)
    assert retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now=now) == timedelta(seconds=90)
    assert retry_after(format_datetime(now - timedelta(seconds=90), usegmt=True), now=now) == timedelta(0)
    assert retry_after("soon") is None and retry_after(None) is None


async def test_the_http_client_finds_sniffio_without_a_path_search():
    """httpcore runs `import sniffio` four times per request (its cancellation shields and events):
    without the package each import fails only after searching the whole path, 76 µs a time here
    against 2.3 µs (~0.3 ms of CPU per outbound request, of ~1.6 ms; docs/performance.md section 8,
    fifth pass). sniffio is pinned for that; this fails if it goes missing again."""
    import importlib.util
    import sys

    from httpcore._synchronization import current_async_library

    assert importlib.util.find_spec("sniffio") is not None
    assert current_async_library() == "asyncio" and "sniffio" in sys.modules
