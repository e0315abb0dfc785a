"""Temporal: one way to connect, Relay's ids, and its search attributes (SPEC §4)."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.common import Priority, SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from app.config import Settings

SA_TENANT = SearchAttributeKey.for_keyword("RelayTenant")
SA_WORKFLOW_ID = SearchAttributeKey.for_keyword("RelayWorkflowId")
SA_WORKFLOW_VERSION = SearchAttributeKey.for_int("RelayWorkflowVersion")
SA_TRIGGER_TYPE = SearchAttributeKey.for_keyword("RelayTriggerType")
SA_ENTITY_ID = SearchAttributeKey.for_keyword("RelayEntityId")

# name -> type, as `temporal server start-dev --search-attribute NAME=TYPE` wants them
SEARCH_ATTRIBUTES = {
    "RelayTenant": "Keyword",
    "RelayWorkflowId": "Keyword",
    "RelayWorkflowVersion": "Int",
    "RelayTriggerType": "Keyword",
    "RelayEntityId": "Keyword",
}


async def connect(settings: Settings, *, metrics_port: int | None = None) -> Client:
    """The one way to connect. With `metrics_port`, the SDK serves its Prometheus metrics
    (workflow/activity task latencies, slots, sticky cache, polls) on that port."""
    runtime = None
    if metrics_port:
        runtime = Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=f"0.0.0.0:{metrics_port}")))
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        runtime=runtime,
    )


def temporal_workflow_id(tenant_id: str, instance_id: str) -> str:
    """An instance's Temporal id is tenant-prefixed, so ids never collide across tenants."""
    return f"{tenant_id}:{instance_id}"


def search_attributes(
    *, tenant_id: str, workflow_id: str, version: int, trigger_type: str, entity_id: str | None
) -> TypedSearchAttributes:
    pairs = [
        SearchAttributePair(SA_TENANT, tenant_id),
        SearchAttributePair(SA_WORKFLOW_ID, workflow_id),
        SearchAttributePair(SA_WORKFLOW_VERSION, version),
        SearchAttributePair(SA_TRIGGER_TYPE, trigger_type),
    ]
    if entity_id:
        pairs.append(SearchAttributePair(SA_ENTITY_ID, entity_id))
    return TypedSearchAttributes(pairs)


def run_priority(tenant_id: str, priority: int | None = None) -> Priority:
    """A run's Temporal task priority (SPEC §3.3): its tenant is the fairness key, so that one
    tenant's backlog on the shared task queue does not hold back another's runs, and the
    workflow's `priority` (1 first … 5 last, §2.7; None: Temporal's default, 3) orders tasks
    within it. Its activities inherit both. The server dispatches by them only with
    `matching.enableFairness` (app/devserver.py, deploy/temporal/dynamicconfig.yaml)."""
    return Priority(priority_key=priority, fairness_key=tenant_id)


def ui_url(settings: Settings, workflow_id: str, run_id: str | None) -> str:
    from urllib.parse import quote

    base = settings.temporal_ui_url.rstrip("/")
    url = f"{base}/namespaces/{quote(settings.temporal_namespace)}/workflows/{quote(workflow_id, safe='')}"
    return f"{url}/{run_id}/history" if run_id else url
