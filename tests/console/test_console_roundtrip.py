"""The editor changes nothing it did not edit: every example definition of SPEC and of the seeds
(console/tests/examples.json, also used by the Vitest tests) is created through the API, opened in
the editor, saved as a draft from the console, and the API returns the same definition."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from playwright.async_api import expect

from tests.console.conftest import ROOT, Dev, signed_in

EXAMPLES = json.loads(Path(ROOT / "console" / "tests" / "examples.json").read_text())["examples"]


async def test_every_example_definition_round_trips_through_the_editor(dev: Dev, page: Any) -> None:
    checked = []
    async with dev.http() as http:
        callee = (await http.post("/v1/workflows", json={"name": "Refunds callee", "workflow_blocks": []})).json()["data"]
        for n, example in enumerate(EXAMPLES):
            text = json.dumps(example["definition"]).replace("wf_refunds", callee["id"])  # call_workflow's callee
            body = {**json.loads(text), "name": f"{example['definition']['name']} {n}"}
            created = await http.post("/v1/workflows", json=body)
            assert created.status_code == 201, (example["title"], created.text)
            workflow_id = created.json()["data"]["id"]
            before = (await http.get(f"/v1/workflows/{workflow_id}/versions/1")).json()["data"]["definition"]
            if not checked:
                await signed_in(page, dev, f"/console/workflows/{workflow_id}")
            else:
                await page.goto(f"{dev.url}/console/workflows/{workflow_id}")
            await expect(page.get_by_text("Editing version 1")).to_be_visible()
            await page.get_by_role("button", name="Save draft").click()
            await expect(page.get_by_role("status")).to_contain_text("Saved draft version 2")
            after = (await http.get(f"/v1/workflows/{workflow_id}/versions/2")).json()["data"]
            assert after["definition"] == before, example["title"]
            assert after["workflow_editor_state"]["nodes"], example["title"]  # positions kept
            checked.append(example["title"])
    assert len(checked) == len(EXAMPLES)


async def test_an_earlier_version_is_rolled_back_to_from_the_versions_tab(dev: Dev, page: Any) -> None:
    first = [{"$kind": "Block", "type": "delay", "id": "short", "inputs": {"duration": "1m"}}]
    async with dev.http() as http:
        created = (await http.post("/v1/workflows", json={"name": "Versions", "workflow_blocks": first})).json()["data"]
        await http.patch(f"/v1/workflows/{created['id']}", json={"workflow_blocks": [
            {"$kind": "Block", "type": "delay", "id": "long", "inputs": {"duration": "1h"}}]})
        await signed_in(page, dev, f"/console/workflows/{created['id']}")
        await expect(page.get_by_text("Editing version 2")).to_be_visible()
        await page.get_by_role("tab", name="Versions").click()
        await page.get_by_role("button", name="Roll back to version 1").click()
        await expect(page.get_by_role("status")).to_contain_text("Version 1 is now active")
        after = (await http.get(f"/v1/workflows/{created['id']}")).json()["data"]
    assert after["active_version"] == 1 and [b["id"] for b in after["workflow_blocks"]] == ["short"]


async def test_call_workflow_by_name_in_the_editor_and_its_run_links_to_the_run_it_started(dev: Dev, page: Any) -> None:
    async with dev.http() as http:
        callee = (await http.post("/v1/workflows", json={"name": "Refund the order", "workflow_blocks": [
            {"$kind": "Block", "type": "delay", "id": "pause", "inputs": {"duration": "1m"}}]})).json()["data"]
        caller = (await http.post("/v1/workflows", json={"name": "Handle a complaint", "workflow_blocks": [
            {"$kind": "Block", "type": "delay", "id": "pause", "inputs": {"duration": "1m"}}]})).json()["data"]
        await signed_in(page, dev, f"/console/workflows/{caller['id']}")
        await expect(page.get_by_text("Editing version 1")).to_be_visible()
        await page.get_by_label("Add block", exact=True).select_option("call_workflow")
        await page.get_by_role("button", name="Save draft").click()
        await expect(page.locator('[data-node="call_workflow_1"] .node-problems')).to_have_text("Workflow: required")
        await page.locator('[data-node="call_workflow_1"]').click()
        await page.get_by_label("Workflow", exact=True).select_option(label="Refund the order")
        await expect(page.locator('[data-node="call_workflow_1"] .node-summary')).to_have_text("Refund the order")
        await page.get_by_role("button", name="Save draft").click()
        await expect(page.get_by_role("status")).to_contain_text("Saved draft version 2")
        saved = (await http.get(f"/v1/workflows/{caller['id']}/versions/2")).json()["data"]["definition"]
        assert saved["workflow_blocks"][1]["inputs"]["workflow_id"] == callee["id"]
        # a run of a workflow that calls it links to the run it started
        calling = (await http.post("/v1/workflows", json={"name": "Call refund", "workflow_blocks": [
            {"$kind": "Block", "type": "call_workflow", "id": "refund", "inputs": {"workflow_id": callee["id"]}}]})).json()["data"]
        started = (await http.post(f"/v1/workflows/{calling['id']}/trigger", json={})).json()["data"]
        await signed_in(page, dev, f"/console/instances/{started['id']}")
        await page.get_by_role("link", name="Open the run it started").click()
        await expect(page.locator(".pagehead h1")).to_contain_text("Refund the order")
        child = page.url.rsplit("/", 1)[1]
        assert child.startswith("inst_") and child != started["id"]
        await http.post(f"/v1/instances/{started['id']}/cancel")
