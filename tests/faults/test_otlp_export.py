"""RELAY_OTEL_ENDPOINT set: `relay api` and `relay worker` export their spans by OTLP/HTTP (protobuf)
to it, the receiver's request carries `traceparent` of one of the exported traces."""

from __future__ import annotations

import asyncio
import signal

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.faults.harness import Drill
from tests.faults.receivers import DrillReceiver


async def test_relay_api_and_worker_export_one_trace_by_otlp(drill: Drill):
    async with DrillReceiver() as collector, DrillReceiver() as receiver:
        drill.env["RELAY_OTEL_ENDPOINT"] = f"{collector.url}/v1/traces"
        await drill.start_all(workers=1)
        workflow_id = await drill.create_workflow([{"$kind": "Action", "id": "call", "type": "webhook",
                                                    "input": {"url": f"{receiver.url}/hook", "body": {}}}])
        instance = await drill.trigger(workflow_id)
        await drill.wait_for_status(instance["id"])
        for process in [drill.api, *drill.workers]:
            assert process is not None
            await asyncio.to_thread(drill.stop, process, signal.SIGTERM)  # exports what it holds on the way out
        exports = [r for r in collector.requests if r.path == "/v1/traces"]
    spans: dict[str, set[str]] = {}
    for export in exports:
        message = ExportTraceServiceRequest.FromString(export.body)
        for resource_spans in message.resource_spans:
            service = next(a.value.string_value for a in resource_spans.resource.attributes if a.key == "service.name")
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    spans.setdefault(span.trace_id.hex(), set()).add(f"{service}: {span.name}")
    trace_id = receiver.requests[0].headers.get("traceparent", "--").split("-")[1]
    print(f"otlp export: {len(exports)} POSTs to the collector ({exports[0].headers.get('content-type') if exports else None});"
          f" the receiver's trace {trace_id} has {sorted(spans.get(trace_id, set()))}")
    assert exports and all(e.headers.get("content-type") == "application/x-protobuf" for e in exports)
    names = spans.get(trace_id, set())
    assert {f"relay-api: POST /v1/workflows/{workflow_id}/trigger", "relay-api: StartWorkflow:RelayWorkflow",
            "relay-worker: RunWorkflow:RelayWorkflow", "relay-worker: HTTP POST"} <= names, names
