"""The editor's Workflow tab: flow control saved with the version, the failure workflow picked by
name saved as the workflow's setting, and an API problem at a flow_control path shown on that form."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect

from tests.console.conftest import Dev, signed_in

PAUSE = [{"$kind": "Block", "type": "delay", "id": "pause", "inputs": {"duration": "1m"}}]


async def test_flow_control_and_failure_workflow_are_set_in_the_editor(dev: Dev, page: Any) -> None:
    async with dev.http() as http:
        support = (await http.post("/v1/workflows", json={"name": "Tell support", "workflow_blocks": PAUSE})).json()["data"]
        orders = (await http.post("/v1/workflows", json={"name": "Sync orders", "workflow_blocks": PAUSE})).json()["data"]
        await signed_in(page, dev, f"/console/workflows/{orders['id']}")
        await expect(page.get_by_text("Editing version 1")).to_be_visible()
        await page.get_by_role("tab", name="Workflow", exact=True).click()
        form = page.get_by_label("Workflow settings")
        await form.get_by_label("Run one at a time per …").check()
        await expect(form.get_by_label("At most this many at once")).to_have_value("1")
        await form.get_by_label("Per", exact=True).fill("{{trigger.entity_id}}")
        await form.get_by_label("When a run fails, start …").select_option(label="Tell support")
        await form.get_by_label("Turn off after this many runs a day").fill("500")
        # a problem the API finds at flow_control.debounce.period is shown on this form, by its label
        await form.get_by_label("Starts close together").select_option("debounce")
        await form.get_by_label("Quiet period").fill("soon")
        await page.get_by_role("button", name="Publish").click()
        await expect(form.get_by_role("alert")).to_contain_text("Wait for a quiet period — Quiet period:")
        await form.get_by_label("Starts close together").select_option("none")
        await page.get_by_role("button", name="Publish").click()
        await expect(page.get_by_role("status")).to_contain_text("Published as version 2")
        stored = (await http.get(f"/v1/workflows/{orders['id']}")).json()["data"]
        # only a setting changed: saved in place, no new version
        await form.get_by_label("Turn off after this many runs a day").fill("")
        await page.get_by_role("button", name="Save draft").click()
        await expect(page.get_by_role("status")).to_contain_text("Workflow settings saved")
        unlimited = (await http.get(f"/v1/workflows/{orders['id']}")).json()["data"]
    assert stored["active_version"] == 2 and stored["max_triggers_per_day"] == 500
    assert stored["on_failure_workflow_id"] == support["id"]
    assert unlimited["max_triggers_per_day"] is None and unlimited["latest_version"] == 2
    flow = stored["flow_control"]
    assert flow["concurrency"] == {"limit": 1, "key": "{{trigger.entity_id}}"}
    assert flow.get("debounce") is None and flow.get("batch") is None
