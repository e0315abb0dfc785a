"""/openapi.json tells the truth (issue 13, finding 9): each operation's real error answers with the
error envelope, no 422, the success envelope; unknown methods answer 405; query schemas match."""

from __future__ import annotations

import pytest

ERROR = {"$ref": "#/components/schemas/ErrorEnvelope"}


@pytest.fixture(scope="module")
async def document(relay) -> dict:
    async with relay.http() as anonymous:
        response = await anonymous.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def v1_operations(document: dict):
    for path, operations in document["paths"].items():
        if path.startswith("/v1/"):
            for method, operation in operations.items():
                yield method.upper(), path, operation


def errors_of(operation: dict) -> set[int]:
    return {int(status) for status in operation["responses"] if int(status) >= 400}


async def test_no_operation_lists_422(document):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert "422" not in operation["responses"], f"{method} {path}"
    assert "HTTPValidationError" not in document["components"]["schemas"]


async def test_every_v1_operation_lists_its_errors_with_the_envelope(document):
    operations = list(v1_operations(document))
    assert len(operations) >= 25
    for method, path, operation in operations:
        where = f"{method} {path}"
        errors = errors_of(operation)
        if path not in ("/v1/hooks/{token}", "/v1/approvals/{token}"):  # the token is the credential
            assert {401, 403, 429} <= errors, where
            assert operation["security"] == [{"bearer": []}, {"apiKey": []}], where
        if path.startswith("/v1/accounts/"):  # seed 003's ids are accepted and never looked up: no 404
            assert 404 not in errors, where
        elif "{" in path:
            assert 404 in errors, where
        if method in ("POST", "PATCH"):
            assert {400, 409, 413} <= errors, where
        for status in errors:
            assert operation["responses"][str(status)]["content"]["application/json"]["schema"] == ERROR, where
        [success] = [status for status in operation["responses"] if status.startswith("2")]
        if path == "/v1/approvals/{token}":  # a page for people (app/routers/approvals.py)
            assert operation["responses"][success]["content"]["text/html"]["schema"] == {"type": "string"}
            continue
        assert operation["responses"][success]["content"]["application/json"]["schema"]["$ref"].endswith("Envelope")
    envelope = document["components"]["schemas"]["ErrorEnvelope"]
    assert envelope["required"] == ["error", "meta"]
    body = document["components"]["schemas"]["ErrorBody"]
    assert {"validation_error", "not_found", "method_not_allowed"} <= set(body["properties"]["code"]["enum"])


async def test_specific_answers_are_declared(document):
    paths = document["paths"]
    assert 409 in errors_of(paths["/v1/workflows/{workflow_id}"]["patch"])  # duplicate_name
    assert 503 in errors_of(paths["/v1/instances"]["get"])  # served from Temporal
    assert 503 not in errors_of(paths["/v1/keys"]["get"])  # the database only
    assert 404 not in errors_of(paths["/v1/workflows"]["get"])
    assert {401, 404} <= errors_of(paths["/v1/hooks/{token}"]["post"])
    assert 429 in errors_of(paths["/v1/workflows"]["get"])
    # 400: a platform key without Relay-Tenant (SPEC §3.3), or a NUL in the id
    assert set(paths["/v1/workflows/{workflow_id}"]["get"]["responses"]) == {"200", "400", "401", "403", "404", "429",
                                                                            "503"}
    assert paths["/v1/instances"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CursorEnvelope"}
    assert set(paths["/readyz"]["get"]["responses"]) == {"200", "503"}


async def test_the_embedding_routes_are_declared(document):
    """SPEC §3.3: tenants (platform), sessions, and the 400 of a platform key without Relay-Tenant."""
    paths = document["paths"]
    assert set(paths["/v1/tenants"]) == {"get", "post"} and set(paths["/v1/tenants/{tenant_id}"]) == {
        "get", "patch", "delete"}
    assert 409 in errors_of(paths["/v1/tenants"]["post"]) and 409 in errors_of(paths["/v1/tenants/{tenant_id}"]["patch"])
    assert paths["/v1/tenants/{tenant_id}"]["delete"]["responses"]["202"]
    assert 503 in errors_of(paths["/v1/tenants/{tenant_id}"]["delete"])  # cancels runs in Temporal
    assert paths["/v1/tenants"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/TenantViewPageEnvelope"}
    assert {"external_id", "page", "limit"} <= {p["name"] for p in paths["/v1/tenants"]["get"]["parameters"]}
    for path, method in (("/v1/tenants/{tenant_id}/sessions", "post"), ("/v1/sessions", "post"),
                         ("/v1/sessions/{session_id}", "delete")):
        assert {400, 401, 403, 429} <= errors_of(paths[path][method]), (method, path)
    assert 400 in errors_of(paths["/v1/keys"]["get"])  # a platform key without Relay-Tenant
    assert document["components"]["securitySchemes"]["apiKey"]["name"] == "x-api-key"


@pytest.mark.parametrize("method, path, allowed", [
    ("TRACE", "/healthz", "GET"),
    ("TRACE", "/readyz", "GET"),
    ("TRACE", "/metrics", "GET"),
    ("TRACE", "/v1/workflows/wf_x", "DELETE, GET, PATCH"),
    ("PUT", "/v1/workflows", "GET, POST"),
    ("DELETE", "/v1/instances", "GET"),
])
async def test_unknown_methods_on_known_paths_answer_405_with_allow(relay, admin_key, method, path, allowed):
    async with relay.http(admin_key) as http:
        response = await http.request(method, path)
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == allowed
    error = response.json()["error"]
    assert error["code"] == "method_not_allowed" and method in error["message"]
    assert response.json()["meta"]["request_id"] == response.headers["x-request-id"]


async def test_unknown_paths_still_answer_404(relay, admin_key):
    async with relay.http(admin_key) as http:
        response = await http.request("TRACE", "/v1/nothing-here")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


async def test_an_empty_filter_is_no_filter(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        for query in ("entity_id=", "workflow_id=", "trigger_type=", "entity_id=&workflow_id=&limit=5"):
            response = await http.get(f"/v1/instances?{query}")
            assert response.status_code == 200, (query, response.text)
            assert response.json()["data"] == []
        bad = await http.get("/v1/instances?entity_id=a%20b")
    assert bad.status_code == 400 and bad.json()["error"]["details"][0]["path"] == "query.entity_id"


async def test_the_query_schemas_say_what_the_api_accepts(document):
    parameters = {p["name"]: p["schema"] for p in document["paths"]["/v1/instances"]["get"]["parameters"]}
    entity = next(s for s in parameters["entity_id"]["anyOf"] if s.get("type") == "string")
    assert entity["pattern"] == "^[A-Za-z0-9_.:-]{0,100}$"
    assert "running" in parameters["status"]["enum"]
    for path in ("/v1/workflows", "/v1/keys", "/v1/connections", "/v1/alerts"):
        page = {p["name"]: p["schema"] for p in document["paths"][path]["get"]["parameters"]}["page"]
        assert page["minimum"] == 1 and page["maximum"] == 1_000_000, path


async def test_a_huge_page_or_version_number_is_a_400_not_a_500(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        for path in ("/v1/workflows", "/v1/keys", "/v1/connections", "/v1/alerts"):
            response = await http.get(f"{path}?page=32589158477190044730&limit=77")
            assert response.status_code == 400, (path, response.text)
            assert response.json()["error"]["details"][0]["path"] == "query.page"
        version = await http.get("/v1/workflows/wf_x/versions/99999999999999999999")
        created = await http.post("/v1/workflows", json={"name": "huge version", "workflow_blocks": []})
        trigger = await http.post(f"/v1/workflows/{created.json()['data']['id']}/trigger",
                                  json={"version": 75624748924160032100375855104})
    assert version.status_code == 400
    assert trigger.status_code == 400, trigger.text  # found by the fuzz job: a 500 before


async def test_instance_dates_are_rfc3339_with_an_offset_as_documented(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        good = await http.get("/v1/instances", params={"started_after": "2026-01-31T09:00:00Z",
                                                        "started_before": "2026-02-01T09:00:00+02:00"})
        bad = [await http.get("/v1/instances", params={"started_before": value})
               for value in ("0.5", "1700000000", "2026-01-31T09:00:00", "soon")]
    assert good.status_code == 200, good.text
    for response in bad:
        assert response.status_code == 400, response.text
        assert response.json()["error"]["details"][0]["path"] == "query.started_before"


async def test_free_query_strings_declare_that_nul_is_refused(document):
    """A NUL in a query is a 400 before routing; the document says so (the fuzz job found the gap)."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                schema = parameter["schema"] if parameter["in"] == "query" else {}
                for branch in [schema, *schema.get("anyOf", [])]:
                    if branch.get("type") == "string":
                        assert "pattern" in branch, (method, path, parameter["name"])
