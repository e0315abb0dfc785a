"""Traces (app/tracing.py): one trigger is one trace from the API's request to the receiver, which
gets `traceparent`; no secret in any span (names, attributes, events, resource). Spans go to an
in-memory exporter here; RELAY_OTEL_ENDPOINT sends them by OTLP in a deployment."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from app import tracing
from app.temporal import connect
from tests.helpers.relay import Relay, relay_settings, sqlite_url, start_relay
from tests.helpers.runs import wait_for_status
from tests.receivers import HttpReceiver

EXPORTER = InMemorySpanExporter()


@pytest.fixture
async def traced(temporal_env, tmp_path) -> AsyncIterator[Relay]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
    tracing.install(provider)  # the process's provider (set once; later installs keep the first)
    try:
        settings = relay_settings(sqlite_url(tmp_path), temporal_env)
        client = await connect(settings)  # with the TracingInterceptor: tracing is on
        async for relay in start_relay(settings, client):
            yield relay
    finally:
        tracing._state["enabled"] = False  # other tests of this process build untraced clients and apps


def dump(span) -> str:
    return json.dumps({"name": span.name, "attributes": dict(span.attributes or {}),
                       "events": [(e.name, dict(e.attributes or {})) for e in span.events],
                       "resource": dict(span.resource.attributes)}, default=str)


async def test_one_trigger_is_one_trace_from_the_api_to_the_receiver_and_no_secret_in_a_span(traced):
    relay = traced
    canaries = {"query": f"qCANARY{uuid.uuid4().hex}", "path": f"pCANARY{uuid.uuid4().hex}",
                "data": f"dCANARY{uuid.uuid4().hex}"}
    _, key = await relay.tenant()
    EXPORTER.clear()
    async with HttpReceiver() as receiver, relay.http(key) as http:
        created = await http.post("/v1/workflows", json={"name": "traced", "trigger_type": "webhook", "workflow_blocks": [
            {"$kind": "Action", "id": "call", "type": "webhook",
             "input": {"url": f"{receiver.url}/{canaries['path']}?token={canaries['query']}",
                       "body": {"secret": "{{trigger.data.secret}}"}}}]})
        assert created.status_code == 201, created.text
        workflow = created.json()["data"]
        hook_token = workflow["webhook_url"].rsplit("/", 1)[1]
        canaries |= {"api key": key, "hook token": hook_token}
        started = await http.post(f"/v1/workflows/{workflow['id']}/trigger",
                                  json={"data": {"secret": canaries["data"]}})
        assert started.status_code == 201, started.text
        await wait_for_status(http, started.json()["data"]["id"], {"completed"})
        hooked = await http.post(f"/v1/hooks/{hook_token}", json={"secret": canaries["data"]})
        assert hooked.status_code in (200, 201, 202), hooked.text
        await wait_for_status(http, hooked.json()["data"]["instance_id"], {"completed"})
    spans = EXPORTER.get_finished_spans()
    request = next(s for s in spans if s.name == f"POST /v1/workflows/{workflow['id']}/trigger")
    trace_id = request.context.trace_id
    in_trace = [s for s in spans if s.context.trace_id == trace_id]
    names = Counter(s.name for s in in_trace)
    first_call = receiver.requests[0]
    traceparent = first_call.headers.get("traceparent", "")
    outbound = next(s for s in in_trace if s.name == "HTTP POST")
    leaks = [f"{name} in {dump(s)[:300]}" for s in spans for name, value in canaries.items()
             if value.lower() in dump(s).lower()]
    print(f"tracing: {len(spans)} spans exported; the trigger's trace has {dict(names)}; the receiver got "
          f"traceparent={traceparent!r}; hook span {[s.name for s in spans if s.name.startswith('POST /v1/hooks')]}; "
          f"leaks={leaks}")
    assert {"StartWorkflow:RelayWorkflow", "RunWorkflow:RelayWorkflow", "HTTP POST"} <= set(names), names
    assert any(n.startswith(("StartActivity:webhook", "RunActivity:webhook")) for n in names), names
    assert traceparent.startswith(f"00-{trace_id:032x}-{outbound.context.span_id:016x}-"), traceparent
    assert all(s.parent is not None for s in in_trace if s is not request)  # one tree under the request
    assert "POST /v1/hooks/{token}" in {s.name for s in spans}
    assert leaks == []


def test_log_lines_inside_a_span_carry_its_trace_and_span_ids():
    import structlog

    from app.config import Settings
    from app.logging import configure_logging

    configure_logging(Settings(env="test", log_format="json"))
    assert tracing.trace_ids in structlog.get_config()["processors"]
    with TracerProvider().get_tracer("test").start_as_current_span("request") as span:
        inside = tracing.trace_ids(None, "info", {"event": "x"})
    outside = tracing.trace_ids(None, "info", {"event": "y"})
    assert inside["trace_id"] == f"{span.get_span_context().trace_id:032x}"
    assert inside["span_id"] == f"{span.get_span_context().span_id:016x}"
    assert "trace_id" not in outside
