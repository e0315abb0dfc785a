"""SMTP to a tenant's host: the name is resolved once, checked, and that address is the one
connected to (issue 13, finding 10a); TLS still checks the certificate against the name."""

from __future__ import annotations

import socket

import pytest
from aiosmtpd.controller import Controller
from temporalio.exceptions import ApplicationError

from activities import RelayActivities
from tests.activities.test_tls import _self_signed
from tests.helpers.activities import action, make_settings, run
from tests.receivers import SmtpReceiver, _Handler
from worker import activity_settings


def receiver_on(host: str, port: int, **controller: object) -> SmtpReceiver:
    receiver = SmtpReceiver(host)
    receiver.port = port
    receiver._controller = Controller(_Handler(receiver), hostname=host, port=port, **controller)
    return receiver


@pytest.fixture
def dns(monkeypatch):
    """Names that exist only here: each maps to a list of answers, one per lookup (the last repeats)."""
    real = socket.getaddrinfo
    answers: dict[str, list[str]] = {}
    lookups: list[str] = []

    def fake(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name in answers:
            lookups.append(name)
            queue = answers[name]
            return real(queue.pop(0) if len(queue) > 1 else queue[0], *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return answers, lookups


async def test_the_checked_address_is_the_one_the_mail_goes_to(store, dns):
    """DNS rebinding: the name first answers the allowed 127.0.0.2, then the canary on 127.0.0.1."""
    answers, lookups = dns
    try:
        allowed = receiver_on("127.0.0.2", SmtpReceiver("127.0.0.2").port)
        await allowed.__aenter__()
    except OSError:
        pytest.skip("cannot bind 127.0.0.2 here")
    try:
        async with receiver_on("127.0.0.1", allowed.port) as canary:
            answers["mail.rebind.test"] = ["127.0.0.2", "127.0.0.1"]
            store.add("acme", name="mail", type="smtp", default=True,
                      config={"host": "mail.rebind.test", "port": allowed.port, "starttls": False,
                              "from": "robot@acme.test"})
            relay = RelayActivities(activity_settings(make_settings(outbound_allow="127.0.0.2")), store)
            result = await run(relay.send_email, action({"to": "ann@example.com", "subject": "s", "body": "b"}))
    finally:
        await allowed.__aexit__(None, None, None)
    assert result.output["accepted"] == ["ann@example.com"]
    assert len(allowed.messages) == 1 and canary.messages == []
    assert lookups == ["mail.rebind.test"]  # one lookup: the check's


@pytest.mark.parametrize("mode", ["tls", "starttls"])
@pytest.mark.parametrize("cert_name, delivered", [("smtp.relay.test", True), ("someone-else.test", False)])
async def test_tls_checks_the_certificate_against_the_host_name(store, dns, tmp_path, monkeypatch,
                                                                mode, cert_name, delivered):
    server_ctx, _ = _self_signed(tmp_path, cert_name)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "cert.pem"))  # trust the test's own CA
    answers, lookups = dns
    answers["smtp.relay.test"] = ["127.0.0.1"]
    tls = {"ssl_context": server_ctx} if mode == "tls" else {"tls_context": server_ctx, "require_starttls": True}
    async with receiver_on("127.0.0.1", SmtpReceiver().port, **tls) as smtp:
        store.add("acme", name="mail", type="smtp", default=True,
                  config={"host": "smtp.relay.test", "port": smtp.port, mode: True, "from": "robot@acme.test"})
        relay = RelayActivities(activity_settings(make_settings(outbound_allow="127.0.0.1/32")), store)
        if delivered:
            await run(relay.send_email, action({"to": "ann@example.com", "subject": "s", "body": "b"}))
        else:
            with pytest.raises(ApplicationError) as err:
                await run(relay.send_email, action({"to": "ann@example.com", "subject": "s", "body": "b"}))
            assert "certificate" in err.value.message.lower() or "ssl" in err.value.message.lower(), err.value.message
    assert len(smtp.messages) == (1 if delivered else 0) and lookups == ["smtp.relay.test"]
