"""The webhook action against a real local HTTP server."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from temporalio.exceptions import ApplicationError

from tests.helpers.activities import action, run, secret


async def test_json_body_query_headers_and_idempotency_key_are_sent(relay, receiver):
    result = await run(
        relay.webhook,
        action(
            {
                "url": f"{receiver.url}/hook",
                "headers": {"X-Custom": "yes"},
                "query": {"page": 2, "q": "a b"},
                "body": {"deal": "Acme", "value": 5},
            },
            depth=2,
        ),
    )
    sent = receiver.requests[0]
    assert (sent.method, sent.path, sent.query) == ("POST", "/hook", {"page": "2", "q": "a b"})
    assert sent.json() == {"deal": "Acme", "value": 5}
    assert sent.headers["content-type"] == "application/json"
    assert sent.headers["x-custom"] == "yes"
    assert sent.headers["idempotency-key"] == "inst_1:s1"
    assert sent.headers["x-relay-depth"] == "3"
    assert sent.headers["host"] == receiver.url.removeprefix("http://")
    assert result.output["status_code"] == 200
    assert result.output["body"] == {"ok": True}
    assert result.attempt == 1


async def test_text_body_is_sent_as_text_and_text_reply_stays_text(relay, receiver):
    receiver.respond(201, "created")
    result = await run(relay.webhook, action({"url": receiver.url, "method": "put", "body": "hello"}))
    sent = receiver.requests[0]
    assert sent.method == "PUT" and sent.body == b"hello"
    assert sent.headers["content-type"].startswith("text/plain")
    assert result.output["body"] == "created" and result.output["status_code"] == 201


@pytest.mark.parametrize(
    "secrets, expected",
    [
        ({"bearer_token": "tok-123"}, "Bearer tok-123"),
        ({"username": "u", "password": "p w"}, "Basic " + base64.b64encode(b"u:p w").decode()),
    ],
)
async def test_http_connection_auth_and_base_url(relay, receiver, store, secrets, expected):
    store.add("acme", name="crm", type="http", config={"base_url": f"{receiver.url}/api/"}, secrets=secrets)
    await run(relay.webhook, action({"url": "/deals", "connection": "crm", "method": "GET"}))
    sent = receiver.requests[0]
    assert sent.path == "/api/deals"
    assert sent.headers["authorization"] == expected


async def test_a_connection_with_a_base_url_sends_its_credentials_nowhere_else(relay, receiver, store):
    store.add("acme", name="crm", type="http", config={"base_url": f"{receiver.url}/api/"},
              secrets={"bearer_token": "tok-123"})
    await run(relay.webhook, action({"url": f"{receiver.url}/api/deals?next=https://x.test/", "connection": "crm"}))
    assert receiver.requests[0].headers["authorization"] == "Bearer tok-123"  # same origin: absolute is fine
    with pytest.raises(ApplicationError) as err:
        await run(relay.webhook, action({"url": "http://localhost:9/steal", "connection": "crm"}))
    assert err.value.non_retryable and "outside the connection's base_url" in err.value.message
    assert len(receiver.requests) == 1


async def test_http_connection_header_secrets(relay, receiver, store):
    store.add("acme", name="crm", type="http", secrets={"headers": {"X-Api-Key": "k-1"}})
    await run(relay.webhook, action({"url": receiver.url, "connection": "crm"}))
    assert receiver.requests[0].headers["x-api-key"] == "k-1"


async def test_unknown_connection_is_not_retried(relay, receiver):
    with pytest.raises(ApplicationError) as err:
        await run(relay.webhook, action({"url": receiver.url, "connection": "nope"}))
    assert err.value.type == "ConnectionNotFound" and err.value.non_retryable


async def test_client_error_is_not_retried_and_carries_status(relay, receiver):
    receiver.respond(400, {"error": "bad deal"})
    with pytest.raises(ApplicationError) as err:
        await run(relay.webhook, action({"url": f"{receiver.url}/x?token=1"}))
    e = err.value
    assert e.type == "HttpClientError" and e.non_retryable
    assert e.details[0]["status_code"] == 400 and "bad deal" in e.details[0]["body"]
    assert e.message.startswith(f"POST {receiver.url}/x answered 400:")


@pytest.mark.parametrize("status, kind", [(500, "HttpServerError"), (503, "HttpServerError"), (408, "HttpServerError")])
async def test_server_errors_are_retried(relay, receiver, status, kind):
    receiver.respond(status, "down")
    with pytest.raises(ApplicationError) as err:
        await run(relay.webhook, action({"url": receiver.url}))
    assert err.value.type == kind and not err.value.non_retryable
    assert err.value.next_retry_delay is None


async def test_rate_limit_honours_retry_after(relay, receiver):
    receiver.respond(429, "slow down", headers={"Retry-After": "7"})
    with pytest.raises(ApplicationError) as err:
        await run(relay.webhook, action({"url": receiver.url}))
    assert err.value.type == "HttpRateLimited" and not err.value.non_retryable
    assert err.value.next_retry_delay == timedelta(seconds=7)


async def test_large_reply_is_cut_at_64_kib(relay, receiver):
    receiver.respond(200, b"x" * 100_000, headers={"content-type": "application/octet-stream"})
    result = await run(relay.webhook, action({"url": receiver.url}))
    assert len(result.output["body"]) == 64 * 1024
    assert result.output["truncated"] is True


async def test_slow_reply_times_out_as_retryable_network_error(relay, receiver):
    receiver.respond(200, "late", delay=2)
    with pytest.raises(ApplicationError) as err:
        await run(relay.webhook, action({"url": receiver.url, "timeout": "300ms"}))
    assert err.value.type == "NetworkError" and not err.value.non_retryable


async def test_header_injection_is_refused(relay, receiver):
    with pytest.raises(ApplicationError) as err:
        await run(relay.webhook, action({"url": receiver.url, "headers": {"X-A": "a\r\nX-B: b"}}))
    assert err.value.type == "ValidationError" and err.value.non_retryable
    assert receiver.requests == []


async def test_secret_placeholders_are_resolved_in_sent_body_only(relay, receiver, store):
    store.add_secret("acme", "API_TOKEN", "s3cr3t-value")
    await run(
        relay.webhook,
        action({"url": receiver.url, "headers": {"X-Token": secret("API_TOKEN")},
                "body": {"auth": f"Bearer {secret('API_TOKEN')}", "other": "\u27e6secret:wrong:API_TOKEN\u27e7"}}),
    )
    sent = receiver.requests[0]
    assert sent.headers["x-token"] == "s3cr3t-value"
    assert sent.json() == {"auth": "Bearer s3cr3t-value", "other": "\u27e6secret:wrong:API_TOKEN\u27e7"}


async def test_unknown_secret_is_refused_without_sending(relay, receiver):
    with pytest.raises(ApplicationError) as err:
        await run(relay.webhook, action({"url": receiver.url, "body": {"k": secret("MISSING")}}))
    assert err.value.type == "SecretNotFound" and err.value.non_retryable
    assert "MISSING" in err.value.message
    assert receiver.requests == []


async def test_secret_values_are_redacted_from_errors(relay, receiver, store):
    store.add_secret("acme", "API_TOKEN", "s3cr3t-value")
    receiver.respond(400, "invalid token s3cr3t-value")
    with pytest.raises(ApplicationError) as err:
        await run(relay.webhook, action({"url": receiver.url, "body": {"t": secret("API_TOKEN")}}))
    assert "s3cr3t-value" not in err.value.message
    assert "s3cr3t-value" not in str(err.value.details)
    assert "[redacted]" in err.value.message


async def test_a_header_value_that_is_not_ascii_is_not_retried(relay, receiver):
    with pytest.raises(ApplicationError) as err:
        await run(relay.webhook, action({"url": receiver.url, "headers": {"X-Name": "Zoë"}}))
    assert err.value.non_retryable and "not ASCII" in err.value.message and receiver.requests == []


async def test_a_bearer_token_that_is_not_ascii_is_a_final_error_that_shows_none_of_it(relay, receiver, store):
    # Second look at issue 13: httpx's UnicodeEncodeError named the token's first non-ASCII character
    # and its position in the step error, and was retried as an unforeseen error.
    store.add("acme", name="crm", type="http", config={"base_url": f"{receiver.url}/api/"},
              secrets={"bearer_token": "tok-Sécret"})
    with pytest.raises(ApplicationError) as err:
        await run(relay.webhook, action({"url": "/deals", "connection": "crm", "method": "GET"}))
    assert err.value.non_retryable and "bearer_token" in err.value.message
    assert "é" not in err.value.message and "\\xe9" not in err.value.message and "position" not in err.value.message
    assert receiver.requests == []
