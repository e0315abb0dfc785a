"""Every /v1 answer fits the model its route declares (app/views.py), so /openapi.json says what clients get."""

from __future__ import annotations

import asyncio
from typing import Any

from app import views

BLOCKS = [{"$kind": "Block", "type": "delay", "id": "wait", "inputs": {"duration": "0s"}}]


def ref(document: dict[str, Any], method: str, path: str, status: int) -> str:
    content = document["paths"][path][method]["responses"][str(status)]["content"]["application/json"]
    return content["schema"]["$ref"].rsplit("/", 1)[1]


async def test_answers_fit_their_declared_models(relay):
    _, admin = await relay.tenant()
    checked: list[tuple[str, str, int, Any, type]] = []
    async with relay.http(admin) as http:
        document = (await http.get("/openapi.json")).json()

        async def call(method: str, url: str, path: str, model: type, status: int = 200, **kwargs: Any) -> Any:
            answer = await http.request(method, url, **kwargs)
            assert answer.status_code == status, answer.text
            model.model_validate(answer.json())
            checked.append((method.lower(), path, status, answer, model))
            return answer.json()["data"]

        wf = await call("POST", "/v1/workflows", "/v1/workflows", views.one(views.WorkflowView), 201,
                        json={"name": "views", "workflow_blocks": BLOCKS})
        one_wf = "/v1/workflows/{workflow_id}"
        await call("GET", "/v1/workflows", "/v1/workflows", views.page(views.WorkflowView))
        await call("GET", f"/v1/workflows/{wf['id']}", one_wf, views.one(views.WorkflowView))
        await call("PATCH", f"/v1/workflows/{wf['id']}", one_wf, views.one(views.WorkflowView), json={"enabled": True})
        await call("GET", f"/v1/workflows/{wf['id']}/versions", one_wf + "/versions", views.page(views.VersionView))
        await call("GET", f"/v1/workflows/{wf['id']}/versions/1", one_wf + "/versions/{number}",
                   views.one(views.VersionView))
        await call("POST", f"/v1/workflows/{wf['id']}/publish", one_wf + "/publish", views.one(views.WorkflowView))
        await call("POST", f"/v1/workflows/{wf['id']}/test", one_wf + "/test", views.one(views.DryRun))
        run = await call("POST", f"/v1/workflows/{wf['id']}/trigger", one_wf + "/trigger",
                         views.one(views.InstanceView), 201)
        for _ in range(100):  # (no shared helper: tests/helpers arrives with #15 item 7)
            if (await http.get(f"/v1/instances/{run['id']}")).json()["data"]["status"] == "completed":
                break
            await asyncio.sleep(0.1)
        one_run = "/v1/instances/{instance_id}"
        await call("GET", "/v1/instances", "/v1/instances", views.CursorEnvelope, params={"workflow_id": wf["id"]})
        await call("GET", f"/v1/instances/{run['id']}", one_run, views.one(views.InstanceView))
        await call("GET", f"/v1/instances/{run['id']}/history", one_run + "/history", views.one(views.Timeline))
        await call("POST", "/v1/events", "/v1/events", views.one(views.Dispatched), 202, json={"type": "views.seen"})
        await call("POST", "/v1/metrics", "/v1/metrics", views.one(views.PointsAccepted), 202,
                   json={"metric": "views", "value": 1})
        key = await call("POST", "/v1/keys", "/v1/keys", views.one(views.KeyCreated), 201,
                         json={"name": "views", "scopes": ["read:workflows"]})
        await call("GET", "/v1/keys", "/v1/keys", views.page(views.KeyView))
        await call("DELETE", f"/v1/keys/{key['id']}", "/v1/keys/{key_id}", views.one(views.Deleted))
        conn = await call("POST", "/v1/connections", "/v1/connections", views.one(views.ConnectionView), 201,
                          json={"name": "views", "type": "secret", "secrets": {"value": "x"}})
        await call("GET", "/v1/connections", "/v1/connections", views.page(views.ConnectionView))
        await call("GET", f"/v1/connections/{conn['id']}", "/v1/connections/{connection_id}",
                   views.one(views.ConnectionView))
        await call("GET", "/v1/alerts", "/v1/alerts", views.page(views.AlertView))
        await call("DELETE", f"/v1/workflows/{wf['id']}", one_wf, views.one(views.Deleted))
    for method, path, status, _, model in checked:
        assert ref(document, method, path, status) == model.__name__, (method, path)


async def test_every_v1_operation_declares_a_model_of_its_own(relay):
    async with relay.http() as http:
        document = (await http.get("/openapi.json")).json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items() if path.startswith("/v1/") else ():
            if path == "/v1/approvals/{token}":  # an HTML page for people (tests/app/test_openapi.py)
                continue
            [success] = [status for status in operation["responses"] if status.startswith("2")]
            name = ref(document, method, path, int(success))
            assert name.endswith("Envelope") and name in document["components"]["schemas"], (method, path)
            assert document["components"]["schemas"][name]["properties"]["data"] != {"type": "object"}
