"""send_email against a real local SMTP server (aiosmtpd)."""

from __future__ import annotations

import pytest
from temporalio.exceptions import ApplicationError

from activities import RelayActivities
from activities.email import message_id
from tests.helpers.activities import action, make_settings, run, secret
from worker import activity_settings


@pytest.fixture
def mailer(smtp, store):
    settings = make_settings(smtp_host=smtp.host, smtp_port=smtp.port, smtp_from="relay@example.com")
    return RelayActivities(activity_settings(settings), store)


async def test_text_and_html_mail_with_cc_bcc_and_reply_to(mailer, smtp):
    result = await run(
        mailer.send_email,
        action({"to": ["ann@example.com"], "cc": "bob@example.com", "bcc": ["eve@example.com"],
                "subject": "Big win: Acme", "body": "Plain text", "html": "<p>Rich</p>",
                "reply_to": "sales@example.com"}),
    )
    mail = smtp.messages[0]
    assert mail.mail_from == "relay@example.com"
    assert sorted(mail.rcpt_tos) == ["ann@example.com", "bob@example.com", "eve@example.com"]
    msg = mail.message
    assert msg["To"] == "ann@example.com" and msg["Cc"] == "bob@example.com"
    assert msg["Bcc"] is None and "eve@example.com" not in str(msg)
    assert msg["Reply-To"] == "sales@example.com" and msg["Subject"] == "Big win: Acme"
    assert msg.get_body(("plain",)).get_content().strip() == "Plain text"
    assert msg.get_body(("html",)).get_content().strip() == "<p>Rich</p>"
    assert msg["X-Relay-Idempotency-Key"] == "inst_1:s1"
    assert result.output == {
        "message_id": msg["Message-ID"],
        "accepted": ["ann@example.com", "bob@example.com", "eve@example.com"],
    }


async def test_message_id_is_the_same_for_every_attempt_of_a_step(mailer, smtp):
    for _ in range(2):
        await run(mailer.send_email, action({"to": "ann@example.com", "subject": "hi", "body": "x"}))
    await run(mailer.send_email, action({"to": "ann@example.com", "subject": "hi"}, step_id="s2"))
    ids = [m.message["Message-ID"] for m in smtp.messages]
    assert ids[0] == ids[1] == message_id("inst_1:s1") != ids[2]
    assert ids[0].startswith("<") and ids[0].endswith("@relay>") and len(ids[0]) == 32 + 8


@pytest.mark.parametrize(
    "field, value",
    [("subject", "Hi\r\nBcc: victim@example.com"), ("to", ["a@example.com\nBcc: v@example.com"]),
     ("reply_to", "x@example.com\r\nX: y"), ("to", ["not-an-address"])],
)
async def test_header_injection_and_bad_addresses_are_refused(mailer, smtp, field, value):
    data = {"to": ["ann@example.com"], "subject": "s", "body": "b", field: value}
    with pytest.raises(ApplicationError) as err:
        await run(mailer.send_email, action(data))
    assert err.value.type == "ValidationError" and err.value.non_retryable
    assert smtp.messages == []


async def test_permanent_refusal_is_not_retried(mailer, smtp):
    smtp.refuse(550)
    with pytest.raises(ApplicationError) as err:
        await run(mailer.send_email, action({"to": "ann@example.com", "subject": "s"}))
    assert err.value.type == "SmtpRefused" and err.value.non_retryable
    assert "550" in err.value.message


async def test_temporary_refusal_is_retried(mailer, smtp):
    smtp.refuse(451, at="RCPT")
    with pytest.raises(ApplicationError) as err:
        await run(mailer.send_email, action({"to": "ann@example.com", "subject": "s"}))
    assert err.value.type == "SmtpTemporaryFailure" and not err.value.non_retryable


async def test_unreachable_server_is_a_retryable_network_error(store, smtp):
    settings = make_settings(smtp_host="127.0.0.1", smtp_port=1, outbound_timeout_seconds=2)
    with pytest.raises(ApplicationError) as err:
        await run(RelayActivities(activity_settings(settings), store).send_email, action({"to": "a@example.com", "subject": "s"}))
    assert err.value.type == "NetworkError" and not err.value.non_retryable


async def test_tenant_smtp_connection_is_used_before_the_server_default(store, smtp):
    store.add("acme", name="mail", type="smtp", config={"host": smtp.host, "port": smtp.port, "from": "crm@acme.test"})
    settings = make_settings(smtp_host="127.0.0.1", smtp_port=1)
    store.add_secret("acme", "CODE", "42")
    await run(RelayActivities(activity_settings(settings), store).send_email,
              action({"to": "ann@example.com", "subject": f"code {secret('CODE')}", "connection": "mail"}))
    assert smtp.messages[0].mail_from == "crm@acme.test"
    assert smtp.messages[0].message["Subject"] == "code 42"


async def test_tenant_default_smtp_connection(store, smtp):
    store.add("acme", name="mail", type="smtp", config={"host": smtp.host, "port": smtp.port}, default=True)
    await run(RelayActivities(activity_settings(make_settings()), store).send_email, action({"to": "ann@example.com", "subject": "s"}))
    assert len(smtp.messages) == 1


async def test_tenant_smtp_host_must_pass_the_outbound_rules(store, smtp):
    store.add("acme", name="mail", type="smtp", config={"host": smtp.host, "port": smtp.port}, default=True)
    relay = RelayActivities(activity_settings(make_settings(outbound_allow="")), store)
    with pytest.raises(ApplicationError) as err:
        await run(relay.send_email, action({"to": "ann@example.com", "subject": "s"}))
    assert err.value.type == "OutboundRefused" and smtp.messages == []


async def test_no_smtp_configured_is_not_retried(relay):
    with pytest.raises(ApplicationError) as err:
        await run(relay.send_email, action({"to": "ann@example.com", "subject": "s"}))
    assert err.value.type == "SmtpNotConfigured" and err.value.non_retryable


@pytest.mark.parametrize("config, expected", [
    ({"port": "twenty-five"}, "is not a number"),
    ({"tls": True, "starttls": True}, "exclude each other"),
])
async def test_a_broken_smtp_connection_is_not_retried(store, smtp, config, expected):
    store.add("acme", name="mail", type="smtp", config={"host": smtp.host, "port": smtp.port, **config}, default=True)
    with pytest.raises(ApplicationError) as err:
        await run(RelayActivities(activity_settings(make_settings()), store).send_email, action({"to": "ann@example.com", "subject": "s"}))
    assert err.value.type == "SmtpNotConfigured" and err.value.non_retryable and expected in err.value.message
    assert smtp.messages == []


async def test_no_sender_address_is_not_retried(store, smtp):
    store.add("acme", name="mail", type="smtp", config={"host": smtp.host, "port": smtp.port}, default=True)
    with pytest.raises(ApplicationError) as err:
        await run(RelayActivities(activity_settings(make_settings(smtp_from="")), store).send_email,
                  action({"to": "ann@example.com", "subject": "s"}))
    assert err.value.non_retryable and "no sender address" in err.value.message and smtp.messages == []
