"""The console in an iframe of a host product's page (SPEC §3.3, §3.5): a session token handed over in
the URL fragment or by postMessage, never in a URL a server sees; the frame shows only that tenant."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from playwright.async_api import expect

from tests.console.conftest import RELAY, Dev, shoot
from tests.receivers import HttpReceiver

HOST_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Acme CRM</title>
<style>body{{font-family:sans-serif;margin:0;background:#f3f4f6}} header{{background:#0f766e;color:#fff;padding:10px 20px}}
iframe{{border:0;width:100%;height:760px;display:block}}</style></head>
<body><header><b>Acme CRM</b> · Automations</header>
<iframe id="by-fragment" title="Automations" src="{console}/console/workflows#token={token}"></iframe>
<iframe id="by-message" title="Automations by message" src="{console}/console/workflows" style="height:300px"></iframe>
<script>
addEventListener("message", (event) => {{
  const frame = document.getElementById("by-message").contentWindow;
  if (event.source === frame && event.data && event.data.type === "relay:ready")
    frame.postMessage({{type: "relay:token", token: "{token}"}}, "{console}");
}});
</script></body></html>"""


async def tenant_key(dev: Dev, tenant: str) -> str:
    """An admin key of another tenant, made as a user does: `relay keys create` beside the dev data dir."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
    process = await asyncio.create_subprocess_exec(
        RELAY, "keys", "create", "--tenant", tenant, "--scope", "admin", "--data-dir", str(dev.data_dir),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await process.communicate()
    assert process.returncode == 0, out.decode()
    return out.decode().strip().splitlines()[-1]


async def test_an_embedding_page_signs_the_console_in_with_a_session_token_and_sees_only_its_tenant(
        dev: Dev, page: Any) -> None:
    acme = await tenant_key(dev, "acme-embedded")
    async with dev.http() as http:
        await http.post("/v1/workflows", json={"name": "Only in the dev tenant", "workflow_blocks": []})
    async with dev.http(acme) as http:
        made = await http.post("/v1/workflows", json={"name": "Acme onboarding", "workflow_blocks": [
            {"$kind": "Block", "type": "delay", "id": "pause", "inputs": {"duration": "1h"}}]})
        assert made.status_code == 201, made.text
        session = await http.post("/v1/sessions", json={
            "scopes": ["read:workflows", "write:workflows", "read:instances", "write:instances"],
            "ttl": "1h", "subject": "user-42"})
        assert session.status_code == 201, session.text
    token = session.json()["data"]["token"]

    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    async with HttpReceiver() as host:
        host.respond(200, HOST_PAGE.format(console=dev.url, token=token), headers={"content-type": "text/html"})
        await page.goto(f"{host.url}/automations")
        for frame_id in ("by-fragment", "by-message"):
            frame = page.frame_locator(f"#{frame_id}")
            await expect(frame.get_by_role("link", name="Acme onboarding")).to_be_visible()
            await expect(frame.get_by_text("Only in the dev tenant")).to_have_count(0)
            await expect(frame.get_by_role("link", name="API keys")).to_have_count(0)  # admin pages: not for a session
        await shoot(page, "embedded")
        frame = page.frame_locator("#by-fragment")
        await frame.get_by_role("link", name="Acme onboarding").click()
        await expect(frame.get_by_text("Editing version 1")).to_be_visible()

    # the token travelled in a fragment and a message only: no request URL carried it
    assert requested and not [url for url in requested if token in url.split("#")[0]]
    # taken from the fragment, then removed from the frame's address
    assert [f for f in page.frames if "/console/" in f.url] and not [f for f in page.frames if "token=" in f.url]
    assert not [r for r in host.requests if token in r.path]
