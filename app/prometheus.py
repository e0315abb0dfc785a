"""The API's Prometheus metrics (GET /metrics): one registry per process, shared by the services."""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class Prometheus:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("relay_http_requests_total", "API requests", ["method", "route", "status"],
                                registry=self.registry)
        self.latency = Histogram("relay_http_request_duration_seconds", "API request latency", ["method", "route"],
                                 registry=self.registry,
                                 buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
        self.runs_started = Counter("relay_runs_started_total", "Runs started", ["trigger_type"], registry=self.registry)
        self.event_matches = Counter("relay_event_matches_total", "Workflows matched by events", registry=self.registry)
        self.breaker_trips = Counter("relay_circuit_breaker_trips_total", "Circuit-breaker trips", registry=self.registry)

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class PrometheusMiddleware:
    """Counts every request by its route template (not its raw path, so ids do not explode the labels)."""

    def __init__(self, app: ASGIApp, prometheus: Prometheus) -> None:
        self.app = app
        self.prometheus = prometheus

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            if template != "unmatched" and not scope["path"].startswith(template.split("{")[0]):
                # routes of an included router carry their path without the router's prefix
                template = scope["path"][: scope["path"].find(template.split("{")[0].rstrip("/") or "/")] + template
            self.prometheus.requests.labels(scope["method"], template, str(status)).inc()
            self.prometheus.latency.labels(scope["method"], template).observe(time.perf_counter() - started)


PROMETHEUS = Prometheus()
