"""Issue 13, finding 6: one address policy at create time and at run time. Every form libc
reads as a loopback or metadata address (hex, octal, short dotted forms, one integer, a
trailing dot, IPv4 inside IPv6) is refused in webhook URLs and in every connection URL/host
field with 400 validation_error naming the path and the value; the allow list is honoured the
same way on both sides; the self-hook check compares addresses and port, not names."""

from __future__ import annotations

import pytest

from activities import outbound
from activities.addresses import resolve_checked
from tests.helpers.relay import relay_settings, sqlite_url, start_relay
from tests.helpers.runs import wait_for_status

LOOPBACK = ["0x7f000001", "2130706433", "017700000001", "127.1", "0", "localhost.", "127.0.0.1.", "0x7f.1",
            "[2002:7f00:1::]", "[::ffff:7f00:1]", "[::127.0.0.1]", "[64:ff9b::7f00:1]"]
METADATA = ["0xa9fea9fe", "2852039166", "025177524776", "169.254.43518", "0xa9.0xfe.0xa9.0xfe", "169.254.169.254.",
            "[2002:a9fe:a9fe::]", "[::ffff:a9fe:a9fe]", "[64:ff9b::a9fe:a9fe]",
            "[2001:0:4136:e378:8000:63bf:5601:5601]", "metadata.google.internal."]
FORMS = LOOPBACK + METADATA
ALLOW = "10.20.0.0/16,intranet.test"  # no loopback: these forms must be refused
ALLOWED_FORMS = ["0x0a140001", "10.20.1", "169082881", "[::ffff:a14:1]", "intranet.test."]  # all 10.20.0.1 or named


@pytest.fixture(scope="module")
async def strict(temporal_env, tmp_path_factory):
    """An API whose allow list names no loopback or link-local address."""
    settings = relay_settings(sqlite_url(tmp_path_factory.mktemp("strict")), temporal_env, outbound_allow=ALLOW)
    async for running in start_relay(settings, temporal_env.client, with_worker=False):
        yield running


@pytest.fixture(scope="module")
async def strict_key(strict) -> str:
    return await strict.key("strict", "admin")


def webhook(url: str) -> dict:
    return {"name": f"w {url}", "workflow_blocks": [{"$kind": "Action", "id": "call", "type": "webhook", "input": {"url": url}}]}


def connection(field: str, host: str) -> dict:
    """A connection whose `field` carries `host` (the others valid)."""
    url = f"http://{host}/x"
    return {
        "http.base_url": {"type": "http", "config": {"base_url": url}, "secrets": {"bearer_token": "t"}},
        "connector.url": {"type": "connector", "config": {"url": url}, "secrets": {"signing_secret": "s"}},
        "slack.api_url": {"type": "slack", "config": {"api_url": url}, "secrets": {"bot_token": "b"}},
        "alert.url": {"type": "alert", "config": {"url": url}},
        "smtp.host": {"type": "smtp", "config": {"host": host}},
        "slack.webhook_url": {"type": "slack", "secrets": {"webhook_url": url}},
        "teams.webhook_url": {"type": "teams", "secrets": {"webhook_url": url}},
    }[field]


FIELDS = {"http.base_url": "config.base_url", "connector.url": "config.url", "slack.api_url": "config.api_url",
          "alert.url": "config.url", "smtp.host": "config.host", "slack.webhook_url": "secrets.webhook_url",
          "teams.webhook_url": "secrets.webhook_url"}


@pytest.mark.parametrize("host", FORMS)
async def test_webhook_urls_with_any_form_of_a_refused_address_are_refused(strict, strict_key, host):
    async with strict.http(strict_key) as http:
        answer = await http.post("/v1/workflows", json=webhook(f"http://{host}:8080/x"))
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == "validation_error"
    [detail] = error["details"]
    assert detail["path"] == "workflow_blocks.0.input.url"
    assert repr(host.strip("[]").lower()) in detail["message"] and "refused address" in detail["message"]


@pytest.mark.parametrize("field", list(FIELDS))
@pytest.mark.parametrize("host", FORMS)
async def test_connection_fields_with_any_form_of_a_refused_address_are_refused(strict, strict_key, field, host):
    async with strict.http(strict_key) as http:
        answer = await http.post("/v1/connections", json={"name": "c", **connection(field, host)})
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == "validation_error"
    assert [d["path"] for d in error["details"]] == [FIELDS[field]], error
    message = error["details"][0]["message"]
    assert "refused address" in message
    if FIELDS[field].startswith("config."):
        assert host.strip("[]").lower() in message  # the value is named
    else:
        assert host.strip("[]").lower() not in message  # a secret's host is never echoed


@pytest.mark.parametrize("host", ALLOWED_FORMS)
async def test_the_allow_list_admits_every_form_of_an_allowed_address_at_create_and_run_time(strict, strict_key, host):
    async with strict.http(strict_key) as http:
        created = await http.post("/v1/workflows", json=webhook(f"http://{host}/x"))
        assert created.status_code == 201, created.text
        conn = await http.post("/v1/connections", json={"name": f"c-{host}", **connection("http.base_url", host)})
        assert conn.status_code == 201, conn.text
    if "intranet" not in host:  # a name is resolved when called; these are literals
        assert await resolve_checked(host.strip("[]"), 80, ALLOW.split(",")) == "10.20.0.1"


@pytest.mark.parametrize("host", FORMS)
async def test_the_run_time_guard_refuses_the_same_forms(host):
    with pytest.raises(outbound.OutboundRefused, match=r"refused|own hooks"):
        await outbound.send("GET", f"http://{host}:9/x", timeout=5, allow=ALLOW.split(","), max_bytes=100, depth=0)


async def test_self_hooks_are_refused_by_address_and_port_not_name(relay, admin_key):
    """The shared relay allows loopback (its receivers live there), so only the self-hook check stands."""
    port = relay.url.rsplit(":", 1)[1]
    own = [f"http://localhost:{port}/v1/hooks/abc", f"http://0x7f000001:{port}/v1/hooks/abc",
           f"http://[::ffff:127.0.0.1]:{port}/v1/hooks/abc", f"http://127.0.0.1:{port}/x/../v1/%68ooks/abc",
           f"http://localhost.:{port}/v1/hooks/abc"]
    async with relay.http(admin_key) as http:
        for url in own:
            answer = await http.post("/v1/workflows", json=webhook(url))
            assert answer.status_code == 400, (url, answer.text)
            messages = [d["message"] for d in answer.json()["error"]["details"]]
            assert any(m.startswith("a webhook action may not call Relay's own hooks") for m in messages), (url, messages)
        other_port = await http.post("/v1/workflows", json=webhook(f"http://localhost:{int(port) + 1}/v1/hooks/abc"))
        assert other_port.status_code == 201, other_port.text


async def test_a_templated_url_to_its_own_hooks_fails_at_run_time(relay):
    _, key = await relay.tenant()
    port = relay.url.rsplit(":", 1)[1]
    async with relay.http(key) as http:
        target = (await http.post("/v1/workflows", json={"name": "target", "trigger_type": "webhook",
                                                          "workflow_blocks": []})).json()["data"]
        caller = (await http.post("/v1/workflows", json={"name": "caller", "workflow_blocks": [
            {"$kind": "Action", "id": "call", "type": "webhook", "input": {"url": "{{trigger.data.url}}"},
             "retry": {"max_attempts": 1}}]})).json()["data"]
        hook = target["webhook_url"].replace("127.0.0.1", "localhost")
        started = await http.post(f"/v1/workflows/{caller['id']}/trigger", json={"data": {"url": hook}})
        assert started.status_code in (200, 201, 202), started.text
        done = await wait_for_status(http, started.json()["data"]["id"], {"completed", "failed"})
        runs = (await http.get("/v1/instances", params={"workflow_id": target["id"]})).json()["data"]
    [step] = done["steps"]
    assert done["status"] == "failed" and "own hooks" in step["error"], step
    assert step["error_type"] == "OutboundRefused"
    assert runs == []
    assert port in hook


@pytest.mark.parametrize("host", ["xn--localhost", "xn--ls8h.com", "xn--"])
async def test_a_host_that_is_not_valid_punycode_is_a_400_not_a_500(strict, strict_key, host):
    # Second look at issue 13: httpx decodes the host lazily, so IDNA's error escaped parse_url.
    async with strict.http(strict_key) as http:
        answer = await http.post("/v1/workflows", json=webhook(f"http://{host}/x"))
        conn = await http.post("/v1/connections", json={"name": f"idna-{host}", **connection("http.base_url", host)})
    for refused, path in ((answer, "workflow_blocks.0.input.url"), (conn, "config.base_url")):
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"]["details"][0]["path"] == path
    with pytest.raises(outbound.OutboundRefused, match="not a valid URL"):
        await outbound.send("GET", f"http://{host}/x", timeout=5, allow=[], max_bytes=100, depth=0)


async def test_deprecated_site_local_ipv6_is_refused_on_both_sides(strict, strict_key):
    async with strict.http(strict_key) as http:
        answer = await http.post("/v1/workflows", json=webhook("http://[fec0::1]/x"))
    assert answer.status_code == 400, answer.text
    with pytest.raises(outbound.OutboundRefused, match="site-local"):
        await outbound.send("GET", "http://[fec0::1]:9/x", timeout=5, allow=[], max_bytes=100, depth=0)
