"""/openapi.json declares 429 quota_exceeded where a tenant quota can refuse (SPEC §3.3) and
describes GET /v1/audit's entries."""

from __future__ import annotations


async def test_quota_refusals_and_the_audit_log_are_documented(relay):
    async with relay.http() as anonymous:
        document = (await anonymous.get("/openapi.json")).json()
    paths = document["paths"]
    for path in ("/v1/workflows/{workflow_id}/trigger", "/v1/hooks/{token}", "/v1/instances/{instance_id}/retry"):
        refusal = paths[path]["post"]["responses"]["429"]
        assert refusal["description"].startswith("quota_exceeded: the tenant's max_running_instances or "
                                                 "max_runs_per_day"), path
        assert "Retry-After" in refusal["headers"]
    assert "max_workflows" in paths["/v1/workflows"]["post"]["responses"]["429"]["description"]
    audit = paths["/v1/audit"]["get"]["responses"]
    assert {"200", "401", "403", "429"} <= set(audit)
    entry = document["components"]["schemas"]["AuditEntryView"]
    assert set(entry["required"]) == {"id", "at", "actor", "action", "resource", "request_id"}
