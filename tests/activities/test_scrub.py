"""Scrubbing secrets in the forms URLs, forms, JSON and repr print them, and in text cut short
(issue 13, findings 2 and 10b)."""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus, urlencode

import httpx
import pytest
from temporalio.exceptions import ApplicationError

from activities.scrub import redact, redact_cut, redact_value
from tests.helpers.activities import action, run, secret

AWKWARD = "Kim's p a/ss+w?o&r=d%é ü-" + "x" * 4


def encodings(secret: str) -> dict[str, str]:
    return {
        "raw": secret, "quote": quote(secret), "quote safe=''": quote(secret, safe=""),
        "quote_plus": quote_plus(secret), "form": urlencode({"q": secret}).split("=", 1)[1],
        "lower hex": quote(secret, safe="").lower(), "upper": secret.upper(), "lower": secret.lower(),
        "twice": quote(quote(secret, safe=""), safe=""), "json": json.dumps(secret)[1:-1], "repr": repr(secret)[1:-1],
        "url path": str(httpx.URL("http://h/" + secret.replace("?", "%3F"))).split("/", 3)[3],
        "url query": str(httpx.URL("http://h/").copy_merge_params({"q": secret})).split("q=", 1)[1],
    }


@pytest.mark.parametrize("form", list(encodings(AWKWARD)))
def test_every_encoded_form_of_a_secret_is_scrubbed(form):
    text = f"GET /x/{encodings(AWKWARD)[form]}/y answered 500"
    assert redact(text, [AWKWARD]) == "GET /x/[redacted]/y answered 500"


def test_a_url_secret_is_scrubbed_normalised_and_its_path_on_its_own():
    secret = "HTTP://Hooks.Example:80/services/T0/B0/Path With Space"
    text = (f"{httpx.URL(secret)} | http://hooks.example/services/T0/B0/Path%20With%20Space | "
            "no_service: /services/T0/B0/Path%20With%20Space")
    assert redact(text, [secret]) == "[redacted] | [redacted] | no_service: [redacted]"


def test_the_host_name_of_a_url_secret_is_scrubbed_but_not_an_ip_address():
    assert redact("cannot resolve host 'whole-1234.invalid'", ["HTTP://Whole-1234.invalid:80/a"]) == (
        "cannot resolve host '[redacted]'")
    assert redact("GET http://127.0.0.1:8080/x", ["http://127.0.0.1:8080/secret-path"]) == "GET http://127.0.0.1:8080/x"


def test_a_non_ascii_host_is_scrubbed_in_its_idna_form():
    secret = "bücher-geheim.example"
    assert redact(f"refused to call {httpx.URL('http://' + secret).host}", [secret]) == "refused to call [redacted]"


def test_a_short_secret_is_scrubbed_only_where_it_stands_alone():
    assert redact("pin=42 id 1420 x42 42b /42/ '42'", ["42"]) == (
        "pin=[redacted] id 1420 x42 42b /[redacted]/ '[redacted]'")
    assert redact_value({"n": "1420", "pin": "42", "42": ["a 42"]}, ["42"]) == {
        "n": "1420", "pin": "[redacted]", "[redacted]": ["a [redacted]"]}


def test_a_long_secret_is_scrubbed_inside_other_text():
    assert redact("abcSECRET-1234xyz", ["secret-1234"]) == "abc[redacted]xyz"


def test_a_cut_text_loses_the_start_of_a_secret_the_cut_split():
    token = "tok-0123456789abcdef"
    assert redact_cut("body ... " + token[:12], [token]) == "body ... [redacted]"
    assert redact_cut("body ... " + quote(AWKWARD)[:30], [AWKWARD]) == "body ... [redacted]"
    assert redact_cut("body ... tok-01", [token]) == "body ... tok-01"  # fewer than MIN_SUBSTRING characters


async def test_a_secret_across_the_detail_cut_of_an_error_body_is_scrubbed(relay, receiver, store):
    token = "tok-0123456789abcdef"
    store.add_secret("acme", "TOKEN", token)
    receiver.respond(500, "x" * 1010 + f"bad token {token}")
    with pytest.raises(ApplicationError) as err:
        await run(relay.webhook, action({"url": receiver.url, "body": {"t": secret("TOKEN")}}))
    assert token[:8] not in str(err.value.details) and "bad token [red" in str(err.value.details)


async def test_a_secret_across_the_64_kib_cap_of_an_answer_is_scrubbed(relay, receiver, store):
    token = "tok-0123456789abcdef"
    store.add_secret("acme", "TOKEN", token)
    receiver.respond(200, "x" * (64 * 1024 - 10) + token, headers={"content-type": "text/plain"})
    result = await run(relay.webhook, action({"url": receiver.url, "body": {"t": secret("TOKEN")}}))
    assert result.output["truncated"] is True and result.output["body"].endswith("x[redacted]")
