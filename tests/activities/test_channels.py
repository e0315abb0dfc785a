"""send_channel_message payloads, delivered to a real local HTTP server."""

from __future__ import annotations

import pytest
from temporalio.exceptions import ApplicationError

from tests.helpers.activities import action, run


async def send(relay, **input):
    return await run(relay.send_channel_message, action(input))


async def test_slack_webhook_payload(relay, receiver):
    result = await send(relay, channel="slack", webhook_url=f"{receiver.url}/slack",
                        recipient="#sales-wins", message="Deal won", username="Relay")
    sent = receiver.requests[0]
    assert sent.json() == {"text": "Deal won", "channel": "#sales-wins", "username": "Relay"}
    assert sent.headers["idempotency-key"] == "inst_1:s1"
    assert result.output == {"delivered": True, "status_code": 200, "channel": "slack"}


async def test_teams_payload_is_a_message_card(relay, receiver):
    await send(relay, channel="teams", webhook_url=receiver.url, message="Deal won", username="Sales")
    assert receiver.requests[0].json() == {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "text": "Deal won",
        "title": "Sales",
    }


async def test_discord_payload(relay, receiver):
    receiver.respond(204)
    result = await send(relay, channel="discord", webhook_url=receiver.url, message="hi", username="Relay")
    assert receiver.requests[0].json() == {"content": "hi", "username": "Relay"}
    assert result.output["status_code"] == 204


async def test_generic_webhook_payload(relay, receiver):
    await send(relay, channel="webhook", webhook_url=receiver.url, message="hi", recipient="ops", username="R")
    assert receiver.requests[0].json() == {"message": "hi", "recipient": "ops", "username": "R"}


async def test_webhook_url_from_the_tenant_default_connection(relay, receiver, store):
    store.add("acme", name="teams-main", type="teams", secrets={"webhook_url": f"{receiver.url}/t"}, default=True)
    await send(relay, channel="teams", message="hi")
    assert receiver.requests[0].path == "/t"


async def test_slack_bot_token_posts_to_chat_post_message(relay, receiver, store):
    store.add("acme", name="slackbot", type="slack", config={"api_url": f"{receiver.url}/api"},
              secrets={"bot_token": "xoxb-1"})
    receiver.respond(200, {"ok": True, "ts": "1.2"})
    await send(relay, channel="slack", connection="slackbot", recipient="C123", message="hi")
    sent = receiver.requests[0]
    assert sent.path == "/api/chat.postMessage"
    assert sent.headers["authorization"] == "Bearer xoxb-1"
    assert sent.json() == {"text": "hi", "channel": "C123"}


async def test_slack_ok_false_is_a_permanent_failure(relay, receiver, store):
    store.add("acme", name="slackbot", type="slack", config={"api_url": receiver.url},
              secrets={"bot_token": "xoxb-1"}, default=True)
    receiver.respond(200, {"ok": False, "error": "channel_not_found"})
    with pytest.raises(ApplicationError) as err:
        await send(relay, channel="slack", recipient="#nope", message="hi")
    assert err.value.type == "SlackError" and err.value.non_retryable
    assert "channel_not_found" in err.value.message
    assert "xoxb-1" not in err.value.message


async def test_a_temporary_slack_error_is_retried(relay, receiver, store):
    store.add("acme", name="slackbot", type="slack", config={"api_url": receiver.url},
              secrets={"bot_token": "xoxb-1"}, default=True)
    receiver.respond(200, {"ok": False, "error": "service_unavailable"})
    with pytest.raises(ApplicationError) as err:
        await send(relay, channel="slack", recipient="#ops", message="hi")
    assert err.value.type == "SlackError" and not err.value.non_retryable


async def test_no_destination_is_not_retried(relay):
    with pytest.raises(ApplicationError) as err:
        await send(relay, channel="discord", message="hi")
    assert err.value.type == "ChannelNotConfigured" and err.value.non_retryable


async def test_unknown_channel_is_a_validation_error(relay, receiver):
    with pytest.raises(ApplicationError) as err:
        await send(relay, channel="fax", webhook_url=receiver.url, message="hi")
    assert err.value.type == "ValidationError" and err.value.non_retryable


async def test_server_error_is_retried(relay, receiver):
    receiver.respond(502, "bad gateway")
    with pytest.raises(ApplicationError) as err:
        await send(relay, channel="slack", webhook_url=receiver.url, message="hi")
    assert err.value.type == "HttpServerError" and not err.value.non_retryable


async def test_a_slack_bot_token_that_is_not_ascii_is_a_final_error_that_shows_none_of_it(relay, receiver, store):
    store.add("acme", name="bot", type="slack", config={"api_url": f"{receiver.url}/api"},
              secrets={"bot_token": "xoxb-Sécret"})
    with pytest.raises(ApplicationError) as err:
        await run(relay.send_channel_message, action({"channel": "slack", "connection": "bot", "recipient": "#c",
                                                      "message": "hi"}))
    assert err.value.non_retryable and "bot_token" in err.value.message
    assert "é" not in err.value.message and "\\xe9" not in err.value.message and "position" not in err.value.message
