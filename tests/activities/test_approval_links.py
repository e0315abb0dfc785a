"""Approval links (docs/approvals.md): only the activity turns a placeholder into a signed URL."""

from __future__ import annotations

import pytest
from temporalio.exceptions import ApplicationError

from activities.approval_links import resolve_links
from relay_common.approvals import Link, approval_key, placeholder, sign, verify

KEY = approval_key("a secret key")


def test_a_token_names_its_link_and_only_the_key_makes_one():
    link = Link("ten_1", "inst_2", "refund", "approved")
    token = sign(KEY, link)
    assert verify(KEY, token) == link
    assert verify(approval_key("another key"), token) is None
    payload, mac = token.split(".")
    assert verify(KEY, f"{payload}.{mac[:-2]}AA" if not mac.endswith("AA") else f"{payload}.{mac[:-2]}BB") is None
    forged = sign(KEY, Link("ten_1", "inst_2", "refund", "rejected")).split(".")[0]
    assert verify(KEY, f"{forged}.{mac}") is None  # another decision under this MAC
    assert verify(b"", token) is None and verify(KEY, "x" * 600) is None and verify(KEY, "no-dot") is None


def test_placeholders_of_the_run_become_urls_and_their_tokens_are_scrubbed():
    found: set[str] = set()
    value = {"body": f"yes: {placeholder('n1', 'ok', 'approved')} no: {placeholder('n1', 'ok', 'rejected')}",
             "other": placeholder("n2", "ok", "approved")}  # another run's nonce (from trigger data): left alone
    resolved = resolve_links(value, key=KEY, public_url="https://relay.test/", tenant_id="ten_1",
                             instance_id="inst_2", nonce="n1", found=found)
    assert resolved["other"] == value["other"]
    urls = resolved["body"].replace("yes: ", "").split(" no: ")
    assert all(url.startswith("https://relay.test/v1/approvals/") for url in urls)
    tokens = {url.rsplit("/", 1)[1] for url in urls}
    assert tokens == found and {verify(KEY, t).decision for t in tokens} == {"approved", "rejected"}
    with pytest.raises(ApplicationError, match="RELAY_SECRET_KEY"):
        resolve_links(value, key=b"", public_url="https://relay.test", tenant_id="ten_1", instance_id="inst_2",
                      nonce="n1", found=set())
    assert resolve_links({"a": "plain"}, key=b"", public_url="", tenant_id="t", instance_id="i", nonce="n1",
                         found=set()) == {"a": "plain"}
