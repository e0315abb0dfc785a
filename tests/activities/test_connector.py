"""create_task / update_field: signed JSON POSTs to the tenant's connector; signing helpers."""

from __future__ import annotations

import time

import pytest
from temporalio.exceptions import ApplicationError

from relay_common import signing
from tests.helpers.activities import action, run, secret


@pytest.fixture
def connector(store, receiver):
    return store.add("acme", name="crm", type="connector", config={"url": f"{receiver.url}/relay"},
                     secrets={"signing_secret": "whsec_1"}, default=True)


async def test_create_task_is_signed_and_returns_the_connectors_reply(relay, receiver, connector):
    receiver.respond(201, {"task_id": "T-9"})
    result = await run(relay.create_task, action({"title": "Call Acme", "assignee": "ann"}))
    sent = receiver.requests[0]
    assert sent.json() == {"action": "create_task", "instance_id": "inst_1", "step_id": "s1",
                           "input": {"title": "Call Acme", "assignee": "ann"}}
    assert sent.headers["idempotency-key"] == "inst_1:s1"
    assert signing.verify("whsec_1", sent.headers["x-relay-signature"], sent.body, now=time.time())
    assert not signing.verify("other", sent.headers["x-relay-signature"], sent.body, now=time.time())
    assert result.output == {"task_id": "T-9"}


async def test_update_field_with_a_named_connection_and_a_secret(relay, receiver, store, connector):
    store.add("acme", name="other", type="connector", config={"url": f"{receiver.url}/other"},
              secrets={"signing_secret": "s2"})
    store.add_secret("acme", "ENTITY", "deal-7")
    receiver.respond(200, [1, 2])
    result = await run(relay.update_field, action(
        {"entity": "deal", "entity_id": secret("ENTITY"), "field": "stage", "value": "won", "connection": "other"}))
    sent = receiver.requests[0]
    assert sent.path == "/other" and sent.json()["action"] == "update_field"
    assert sent.json()["input"] == {"entity": "deal", "entity_id": "deal-7", "field": "stage", "value": "won"}
    assert signing.verify("s2", sent.headers["x-relay-signature"], sent.body, now=time.time())
    assert result.output == {"result": [1, 2]}


async def test_no_connector_is_not_retried(relay):
    with pytest.raises(ApplicationError) as err:
        await run(relay.create_task, action({"title": "x"}))
    assert err.value.type == "ConnectorNotConfigured" and err.value.non_retryable


async def test_connector_client_error_is_not_retried(relay, receiver, connector):
    receiver.respond(422, {"error": "unknown field"})
    with pytest.raises(ApplicationError) as err:
        await run(relay.update_field, action({"entity": "deal", "field": "nope"}))
    assert err.value.type == "HttpClientError" and err.value.non_retryable
    assert err.value.details[0]["status_code"] == 422


def test_verify_checks_secret_body_and_age():
    body = b'{"a":1}'
    header = signing.sign("k", body, 1_000)
    assert signing.verify("k", header, body, now=1_100)
    assert signing.verify(b"k", f"t=1000,v1={'0' * 64},{header.split(',')[1]}", body, now=1_000)
    assert not signing.verify("k", header, body + b" ", now=1_100)
    assert not signing.verify("k", header, body, now=1_301)
    assert not signing.verify("k", header, body, now=699)
    for bad in (None, "", "v1=abc", "t=x,v1=abc", "t=1000"):
        assert not signing.verify("k", bad, body, now=1_000)
