"""OpenTelemetry traces: off unless RELAY_OTEL_ENDPOINT is set (then exported by OTLP over HTTP).

One trigger is one trace: the API's request span (`TracingMiddleware`) → `StartWorkflow` (the
Temporal client's TracingInterceptor) → `RunWorkflow` and `StartActivity`/`RunActivity` in the
worker (the same interceptor, through the client the worker is built on) → the outbound request's
span (activities/tracing.py), whose context the receiver gets in `traceparent`.

    tracing.configure(settings, "relay-api")   # entry points, once; nothing when the endpoint is unset
    connect(...) uses client_interceptors(); build_worker's sandbox passes sandbox_passthrough()

Spans carry no secret: no URL query, no request or response body, no header but `traceparent`;
hook and approval paths have their token replaced (`loggable_path`); outbound spans name the host only.
With tracing off nothing is installed: no middleware, no interceptor, no span.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from opentelemetry import context, propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import Settings

_state = {"enabled": False}
# FastAPI's own OpenTelemetry (on by default once a provider is set) records the raw path, which
# holds a hook's or an approval's token: off, TracingMiddleware's span replaces it (the canary test).
FASTAPI_TELEMETRY: Any = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}
_TOKEN_PATHS = ("/v1/hooks/", "/v1/approvals/")


def configure(settings: Settings, service: str) -> None:
    """An OTLP exporter to RELAY_OTEL_ENDPOINT (e.g. http://collector:4318/v1/traces), when set."""
    if not settings.otel_endpoint or _state["enabled"]:
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.otel_endpoint)))
    install(provider)


def install(provider: Any) -> None:
    """Use `provider` (the OTLP one, or a test's in-memory one) for every span of this process."""
    trace.set_tracer_provider(provider)
    _state["enabled"] = True


def shutdown() -> None:
    """Export what is left (a process that leaves by os._exit skips the provider's atexit hook)."""
    if enabled():
        provider = trace.get_tracer_provider()
        if hasattr(provider, "shutdown"):
            provider.shutdown()


def enabled() -> bool:
    return _state["enabled"]


def client_interceptors() -> list[Any]:
    """The Temporal client's interceptors: the workers built on the client use them too."""
    if not enabled():
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor()]


def sandbox_passthrough() -> tuple[str, ...]:
    """Modules the workflow sandbox passes through when tracing is on: the interceptor's workflow
    part uses the process's one opentelemetry context and provider."""
    return ("opentelemetry",) if enabled() else ()


def loggable_path(path: str) -> str:
    """The path without credentials, for logs and spans: a webhook's token is the key to trigger it,
    an approval link's token the key to decide (SPEC §2.4)."""
    for prefix in _TOKEN_PATHS:
        if path.startswith(prefix):
            return prefix + "{token}"
    return path


def trace_ids(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: the current trace and span ids on every log line inside a span."""
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        event["trace_id"] = format(span_context.trace_id, "032x")
        event["span_id"] = format(span_context.span_id, "016x")
    return event


class TracingMiddleware:
    """A SERVER span around each HTTP request (the caller's `traceparent` continued when sent)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.tracer = trace.get_tracer("relay.api")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])
                   if k in (b"traceparent", b"tracestate")}
        path = loggable_path(scope.get("path", ""))
        token = context.attach(propagate.extract(carrier))
        try:
            with self.tracer.start_as_current_span(
                    f"{scope['method']} {path}", kind=SpanKind.SERVER,
                    attributes={"http.request.method": scope["method"], "url.path": path}) as span:
                async def send_noting_status(message: Message) -> None:
                    if message["type"] == "http.response.start":
                        span.set_attribute("http.response.status_code", message["status"])
                        if message["status"] >= 500:
                            span.set_status(Status(StatusCode.ERROR))
                    await send(message)

                await self.app(scope, receive, send_noting_status)
                route = getattr(scope.get("route"), "path", None)
                if route:
                    span.set_attribute("http.route", route)
        finally:
            context.detach(token)
