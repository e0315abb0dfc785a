"""The outbound request's span, child of the activity's (app/tracing.py), and `traceparent` on it.

Nothing happens without a current, valid span (tracing off): no span, no header. The span names
the method and the host; never the path, query or body (they may hold secrets)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind

_tracer = trace.get_tracer("relay.outbound")


@contextmanager
def outbound_span(method: str, host: str, port: int, headers: httpx.Headers) -> Iterator[Span | None]:
    if not trace.get_current_span().get_span_context().is_valid:
        yield None
        return
    with _tracer.start_as_current_span(f"HTTP {method}", kind=SpanKind.CLIENT, attributes={
            "http.request.method": method, "server.address": host, "server.port": port}) as span:
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        for name, value in carrier.items():
            headers[name] = value
        yield span
