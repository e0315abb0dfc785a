"""The console in a browser (SPEC §3.5), against a real `relay dev` with real receivers: sign in, build
webhook → if-else → email by clicking and typing, see a validation problem on its block and fix it,
publish, run it and watch the run view; a failed step retried from the console; a delay cancelled."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import expect

from tests.console.conftest import Dev, shoot, signed_in


async def test_sign_in_with_a_key_and_see_the_workflows(dev: Dev, page: Any) -> None:
    await page.goto(f"{dev.url}/console/workflows")
    await shoot(page, "sign-in")
    await page.get_by_label("API key or session token").fill("rly_not_a_real_key_at_all_000000000000000")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("not valid")
    await page.get_by_label("API key or session token").fill(dev.key)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Workflows")).to_be_visible()
    assert dev.key not in page.url
    assert await page.evaluate("sessionStorage.getItem('relay.token')") == dev.key
    assert await page.evaluate("localStorage.length") == 0


async def test_build_fix_publish_run_and_watch_a_workflow(dev: Dev, page: Any) -> None:
    await signed_in(page, dev)
    await page.get_by_role("button", name="New workflow").click()
    await page.get_by_label("Name", exact=True).fill("Score check")
    await page.get_by_role("button", name="Create workflow").click()
    await expect(page.get_by_text("Editing version 1")).to_be_visible()
    workflow_id = page.url.rsplit("/", 1)[1]

    # webhook → if-else → email, by choosing blocks and typing into their forms
    await page.get_by_label("Add block", exact=True).select_option("webhook")
    await page.get_by_label("URL", exact=True).fill(f"{dev.receiver.url}/score")
    await page.get_by_label("Body (JSON)").fill('{"lead": "{{trigger.data.lead}}"}')
    await page.get_by_label("Add block", exact=True).select_option("stop")  # one too many: removed by keyboard
    await page.locator('[data-node="stop_1"]').click()
    await page.keyboard.press("Delete")
    await expect(page.locator('[data-node="stop_1"]')).to_have_count(0)
    await page.get_by_label("Add block", exact=True).select_option("if-else")
    await page.get_by_label("Value", exact=True).fill("{{webhook_1.output.body.score}}")
    await page.get_by_label("Operator").select_option("changed_to")  # not allowed in an if-else: the API says so
    await page.get_by_label("Compared with").fill("50")
    await page.get_by_label("Add to then").select_option("send_email")
    await page.get_by_label("To", exact=True).fill("sales@example.com")
    await page.get_by_label("Subject").fill("Hot lead {{trigger.data.lead}}")
    await page.get_by_label("Body", exact=True).fill("Score {{webhook_1.output.body.score}}")
    await page.locator('[data-node="$trigger"]').click()
    await page.get_by_label("Starts when").select_option("webhook")
    await page.get_by_role("button", name="Publish").click()

    problem = page.locator('[data-node="if_else_1"] .node-problems')
    await expect(problem).to_contain_text("changed_to is only allowed in event-trigger conditions")
    await expect(page.locator('[data-node="send_email_1"] .node-problems')).to_have_count(0)
    await shoot(page, "editor-validation")
    await page.locator('[data-node="if_else_1"]').click()
    await page.get_by_label("Operator").select_option("greater_than")
    await page.get_by_role("button", name="Publish").click()
    await expect(page.get_by_role("status")).to_contain_text("Published as version 2")
    await expect(problem).to_have_count(0)
    await page.get_by_role("button", name="Tidy up").click()
    await shoot(page, "editor")

    async with dev.http() as http:
        workflow = (await http.get(f"/v1/workflows/{workflow_id}")).json()["data"]
    blocks = workflow["workflow_blocks"]
    assert [b["type"] for b in blocks] == ["webhook", "if-else"]
    assert blocks[1]["inputs"]["condition"] == {"operatorName": "greater_than", "left": "{{webhook_1.output.body.score}}",
                                                "right": 50}
    assert blocks[1]["branches"]["then"][0]["input"]["to"] == ["sales@example.com"]
    assert workflow["workflow_editor_state"]["nodes"][0]["id"] == "$trigger"
    assert workflow["trigger_type"] == "webhook"
    await page.locator('[data-node="$trigger"]').click()
    await expect(page.get_by_label("Webhook URL (POST here)")).to_have_value(workflow["webhook_url"])

    dev.receiver.respond(200, {"score": 80}, delay=2.0)  # long enough to see the run running
    await page.get_by_role("button", name="Run now").click()
    await expect(page).to_have_url(re.compile(r"/console/instances/inst_"))
    head = page.locator(".pagehead h1 [data-status]")
    await expect(head).to_have_attribute("data-status", "running")
    await expect(head).to_have_attribute("data-status", "completed", timeout=20_000)
    steps = page.get_by_label("Steps")
    await expect(steps.locator('[data-step="webhook_1"]')).to_contain_text("status_code")
    await expect(steps.locator('[data-step="webhook_1"]')).to_contain_text("80")
    await expect(steps.locator('[data-step="if_else_1"] [data-status]').first).to_have_attribute("data-status", "completed")
    await expect(steps.locator('[data-step="send_email_1"]')).to_contain_text("message_id")
    await shoot(page, "run")
    assert dev.smtp.messages[-1].message["Subject"].startswith("Hot lead")
    async with dev.http() as http:  # the webhook trigger, as the outside world calls it
        dev.receiver.respond(200, {"score": 90})
        hooked = await http.post(workflow["webhook_url"], json={"lead": "Ada"})
    await dev.run_until(hooked.json()["data"]["instance_id"], {"completed"})
    assert dev.smtp.messages[-1].message["Subject"] == "Hot lead Ada"
    await page.get_by_role("link", name="Runs", exact=True).click()
    await expect(page.locator("tbody tr").first).to_contain_text("Score check")
    await shoot(page, "runs")


async def test_a_failed_step_is_retried_from_the_console(dev: Dev, page: Any) -> None:
    async with dev.http() as http:
        created = await http.post("/v1/workflows", json={"name": "Sync to CRM", "workflow_blocks": [
            {"$kind": "Action", "id": "prepare", "type": "webhook", "name": "Prepare", "input": {"url": f"{dev.receiver.url}/a"}},
            {"$kind": "Action", "id": "push", "type": "webhook", "name": "Push to CRM", "input": {"url": f"{dev.receiver.url}/b"},
             "retry": {"max_attempts": 2, "initial_interval": "100ms"}}]})
        assert created.status_code == 201, created.text
        dev.receiver.respond(200, {"prepared": True})
        dev.receiver.respond(500, {"error": "busy"})
        dev.receiver.respond(400, {"error": "bad record"})
        started = await http.post(f"/v1/workflows/{created.json()['data']['id']}/trigger", json={"data": {"id": 7}})
    failed_id = started.json()["data"]["id"]
    failed = await dev.run_until(failed_id, {"failed"})
    attempts = {s["id"]: s["attempts"] for s in failed["steps"]}["push"]
    await signed_in(page, dev, f"/console/instances/{failed_id}")
    await expect(page.locator(".pagehead h1 [data-status]")).to_have_attribute("data-status", "failed")
    push = page.get_by_label("Steps").locator('[data-step="push"]')
    await expect(push).to_contain_text(f"{attempts} attempt")
    await expect(push.locator(".error")).to_contain_text("400")
    await shoot(page, "run-failed")
    seen = len(dev.receiver.requests)
    await page.get_by_role("button", name="Retry from failed step").click()
    await expect(page).not_to_have_url(re.compile(failed_id))
    await expect(page.locator(".pagehead h1 [data-status]")).to_have_attribute("data-status", "completed", timeout=20_000)
    await expect(page.get_by_label("Steps").locator('[data-step="prepare"]')).to_contain_text("from the earlier run")
    assert [r.path for r in dev.receiver.requests[seen:]] == ["/b"]  # the step that had succeeded did not run again


async def test_a_run_waiting_in_a_delay_is_cancelled_from_the_console(dev: Dev, page: Any) -> None:
    async with dev.http() as http:
        created = await http.post("/v1/workflows", json={"name": "Follow up in a day", "workflow_blocks": [
            {"$kind": "Block", "type": "delay", "id": "wait_a_day", "name": "Wait a day", "inputs": {"duration": "1d"}},
            {"$kind": "Action", "id": "nudge", "type": "webhook", "input": {"url": f"{dev.receiver.url}/nudge"}}]})
        started = await http.post(f"/v1/workflows/{created.json()['data']['id']}/trigger", json={})
    instance_id = started.json()["data"]["id"]
    await signed_in(page, dev, f"/console/instances/{instance_id}")
    await expect(page.get_by_label("Steps").locator('[data-step="wait_a_day"] [data-status]').first).to_have_attribute(
        "data-status", "waiting")
    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Cancel run").click()
    await expect(page.locator(".pagehead h1 [data-status]")).to_have_attribute("data-status", "cancelled", timeout=15_000)
    detail = await dev.run_until(instance_id, {"cancelled"})
    assert [s["id"] for s in detail["steps"]] == ["wait_a_day"]
    assert not [r for r in dev.receiver.requests if r.path == "/nudge"]


async def test_a_dry_run_with_mocks_shows_the_step_trace(dev: Dev, page: Any) -> None:
    async with dev.http() as http:
        created = await http.post("/v1/workflows", json={"name": "Route big orders", "workflow_blocks": [
            {"$kind": "Action", "id": "score", "type": "webhook", "name": "Score the order",
             "input": {"url": f"{dev.receiver.url}/score"}},
            {"$kind": "Block", "type": "if-else", "id": "big", "name": "Is it big?",
             "inputs": {"condition": {"operatorName": "greater_than", "left": "{{score.output.body.value}}", "right": 100}},
             "branches": {"then": [{"$kind": "Action", "id": "tell", "type": "send_email", "name": "Tell sales",
                                    "input": {"to": ["sales@example.com"], "subject": "Big order", "body": "{{order}}"}}],
                          "else": []}}]})
    seen = len(dev.receiver.requests)
    await signed_in(page, dev, f"/console/workflows/{created.json()['data']['id']}")
    await page.get_by_role("tab", name="Test").click()
    await page.get_by_label("Trigger data (JSON)").fill('{"order": "A-1"}')
    await page.get_by_label("Mocks (JSON: step id → output)").fill('{"score": {"status_code": 200, "body": {"value": 250}}}')
    await page.get_by_role("button", name="Run test").click()
    trace = page.get_by_label("Step trace")
    await expect(trace.locator("h4 [data-status]")).to_have_attribute("data-status", "completed")
    await expect(trace).to_contain_text("tell")
    await expect(trace).to_contain_text("Big order")
    await shoot(page, "test-panel")
    assert len(dev.receiver.requests) == seen  # a dry run sends nothing


async def test_connections_keep_secrets_write_only_and_the_other_lists_show(dev: Dev, page: Any) -> None:
    async with dev.http() as http:
        await http.post("/v1/workflows", json={"name": "Welcome new customers", "description": "Sends the welcome email",
                                               "workflow_blocks": []})
    await signed_in(page, dev, "/console/connections")
    await page.get_by_label("Type", exact=True).select_option("slack")
    await page.get_by_label("Name", exact=True).fill("team-slack")
    await page.get_by_label("Webhook URL (secret)").fill("https://hooks.example.com/T000/SECRET-VALUE")
    await page.get_by_role("button", name="Add connection").click()
    row = page.locator("tbody tr", has_text="team-slack")
    await expect(row).to_contain_text("webhook_url: ••••••")
    assert "SECRET-VALUE" not in await page.content()
    await shoot(page, "connections")
    async with dev.http() as http:
        listed = (await http.get("/v1/connections")).text
    assert "SECRET-VALUE" not in listed
    await page.get_by_role("link", name="Workflows").click()
    await expect(page.locator("tbody tr a").first).to_be_visible()
    await shoot(page, "workflows")
    await page.get_by_role("link", name="Audit log").click()
    created = page.locator("tbody tr", has_text="connection created").first
    await expect(created).to_contain_text("team-slack")  # by name, not conn_…
    await expect(created).to_contain_text("dev admin")  # the key that did it, by its name
    await shoot(page, "audit")
    await page.goto(f"{dev.url}/console/instances")  # the run view's URL cut back to its list: the runs
    await expect(page.get_by_role("heading", name="Runs")).to_be_visible()


async def test_an_approval_is_approved_and_another_rejected_in_the_run_view(dev: Dev, page: Any) -> None:
    async with dev.http() as http:
        created = await http.post("/v1/workflows", json={"name": "Refunds", "workflow_blocks": [
            {"$kind": "Block", "type": "approval", "id": "ok", "name": "Manager approval",
             "inputs": {"timeout": "1h", "message": "Refund {{trigger.data.amount}}?"},
             "branches": {"approved": [{"$kind": "Action", "id": "pay", "type": "webhook",
                                        "input": {"url": f"{dev.receiver.url}/approved"}}],
                          "rejected": [{"$kind": "Action", "id": "tell", "type": "webhook",
                                        "input": {"url": f"{dev.receiver.url}/rejected"}}],
                          "timeout": []}}]})
        assert created.status_code == 201, created.text
        workflow_id = created.json()["data"]["id"]
        runs = [(await http.post(f"/v1/workflows/{workflow_id}/trigger", json={"data": {"amount": n}})).json()["data"]["id"]
                for n in (40, 9000)]
    for run, (button, path) in zip(runs, [("Approve", "/approved"), ("Reject", "/rejected")], strict=True):
        await signed_in(page, dev, f"/console/instances/{run}")
        await expect(page.locator(".approval")).to_contain_text("Refund 40?" if button == "Approve" else "Refund 9000?")
        await page.get_by_label("Comment (optional)").fill(f"{button}d in the console")
        if button == "Approve":
            await shoot(page, "approval")
        await page.get_by_role("button", name=button, exact=True).click()
        await expect(page.locator(".pagehead h1 [data-status]")).to_have_attribute("data-status", "completed",
                                                                                   timeout=15_000)
        await expect(page.get_by_label("Steps").locator('[data-step="ok"]')).to_contain_text(f"{button}d in the console")
        assert any(r.path == path for r in dev.receiver.requests)


async def test_a_queued_run_is_listed_as_queued_and_cancelled_before_it_runs(dev: Dev, page: Any) -> None:
    async with dev.http() as http:
        created = await http.post("/v1/workflows", json={"name": "One at a time", "flow_control": {"concurrency": {"limit": 1}},
                                                         "workflow_blocks": [{"$kind": "Block", "type": "delay", "id": "hold",
                                                                              "inputs": {"duration": "1h"}}]})
        assert created.status_code == 201, created.text
        workflow_id = created.json()["data"]["id"]
        first, second = [(await http.post(f"/v1/workflows/{workflow_id}/trigger", json={})).json()["data"]["id"]
                         for _ in range(2)]
        await signed_in(page, dev, f"/console/runs?workflow_id={workflow_id}")
        await expect(page.locator("tbody tr", has_text=second).locator("[data-status]")).to_have_attribute(
            "data-status", "queued")
        await expect(page.locator("tbody tr", has_text=first).locator("[data-status]")).to_have_attribute(
            "data-status", "running")
        await page.get_by_role("link", name=second).click()
        await expect(page.get_by_label("Steps")).to_contain_text("Queued")
        page.once("dialog", lambda dialog: dialog.accept())
        await page.get_by_role("button", name="Cancel run").click()
        await expect(page.locator(".pagehead h1 [data-status]")).to_have_attribute("data-status", "cancelled")
        await http.post(f"/v1/instances/{first}/cancel")
    assert (await dev.run_until(second, {"cancelled"}))["steps"] == []
