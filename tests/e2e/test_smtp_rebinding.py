"""Through the API and Temporal: a tenant's SMTP host is resolved once and the mail goes to the
checked address, not to whatever a second lookup answers (issue 13, finding 10a)."""

from __future__ import annotations

import socket

import pytest

from tests.activities.test_email_rebinding import receiver_on
from tests.helpers.runs import wait_for_status
from tests.receivers import SmtpReceiver


async def test_a_rebinding_smtp_host_gets_no_second_lookup(relay, monkeypatch):
    """The name first answers 127.0.0.1 (allowed for this Relay), then 127.0.0.2 (not allowed)."""
    real = socket.getaddrinfo
    answers = ["127.0.0.1", "127.0.0.2"]
    lookups: list[str] = []

    def rebinding(host, *args, **kwargs):
        if host in ("mail.rebind.test", b"mail.rebind.test"):
            lookups.append(answers[min(len(lookups), 1)])
            return real(lookups[-1], *args, **kwargs)
        return real(host, *args, **kwargs)

    _, key = await relay.tenant()
    async with SmtpReceiver() as checked:
        try:
            canary = receiver_on("127.0.0.2", checked.port)
            await canary.__aenter__()
        except OSError:
            pytest.skip(f"cannot bind 127.0.0.2:{checked.port} here")
        monkeypatch.setattr(socket, "getaddrinfo", rebinding)
        try:
            async with relay.http(key) as http:
                created = await http.post("/v1/connections", json={
                    "name": "mail", "type": "smtp", "default": True,
                    "config": {"host": "mail.rebind.test", "port": checked.port, "starttls": False,
                               "from": "robot@acme.test"}})
                assert created.status_code == 201, created.text
                workflow = (await http.post("/v1/workflows", json={"name": "mail", "workflow_blocks": [
                    {"$kind": "Action", "id": "mail", "type": "send_email", "retry": {"max_attempts": 1},
                     "input": {"to": ["kim@example.com"], "subject": "hi", "body": "hello"}}]})).json()["data"]
                started = (await http.post(f"/v1/workflows/{workflow['id']}/trigger", json={})).json()["data"]
                done = await wait_for_status(http, started["id"], {"completed", "failed"})
        finally:
            await canary.__aexit__(None, None, None)
    assert done["status"] == "completed", done
    assert len(checked.messages) == 1 and canary.messages == [] and lookups == ["127.0.0.1"]
