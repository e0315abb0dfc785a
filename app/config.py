"""Settings: the only reader of environment variables (SPEC §5)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RELAY_", extra="ignore")

    env: Literal["dev", "test", "production"] = "production"
    database_url: str = "sqlite:///.relay/relay.db"
    auto_migrate: bool = True
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    task_queue: str = "relay"
    temporal_ui_url: str = "http://localhost:8233"
    public_url: str = "http://localhost:8000"

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_from: str = "relay@localhost"

    secret_key: str | None = None
    outbound_allow: str = ""
    outbound_timeout_seconds: float = 30.0
    outbound_max_response_bytes: int = 1024 * 1024

    rate_limit: str = "600/minute"
    redis_url: str | None = None
    otel_endpoint: str | None = None  # OTLP/HTTP traces endpoint (app/tracing.py); unset: no tracing
    log_format: Literal["json", "console"] = "console"
    log_level: str = "INFO"
    max_body_bytes: int = 1024 * 1024
    cors_origins: str = ""  # comma-separated origins whose browsers may call the API (SPEC §3.3)
    # Default quotas of every tenant, JSON: {"max_running_instances": 50, ...}; null or absent = unlimited
    tenant_quotas: str = "{}"

    worker_max_concurrent_activities: int = 100
    # Few on purpose: a task waits inside the worker behind every workflow task it holds, which
    # would undo fairness between tenants (docs/embedding.md; the throughput it costs:
    # docs/performance.md, section 7.1).
    worker_max_concurrent_workflow_tasks: int = 5
    worker_max_cached_workflows: int = 1000
    # Concurrent long polls for workflow tasks (the SDK's default); at least 2 (one for the
    # sticky queue of the workflow cache, one for the shared queue), the SDK refuses fewer.
    worker_workflow_task_pollers: int = Field(default=5, ge=2)
    worker_activity_task_pollers: int = Field(default=5, ge=1)  # concurrent long polls for activity tasks
    # The share of the workflow-task polls that ask the shared queue (a run's first task, every
    # task of a run not in this worker's cache) rather than the cache's sticky queue. The SDK's
    # 0.2 leaves one poll of five for new runs, and a run whose steps are local has no other task;
    # 1.0 (as many as the pollers allow, the sticky queue keeps one) ran 3-step runs 25 % faster but
    # let more of a busy tenant's runs ahead of another's, so 0.2 stays the default
    # (docs/performance.md, section 8, fifth pass).
    worker_nonsticky_poll_ratio: float = Field(default=0.2, gt=0, le=1)
    # True: the sandbox imports workflows/ afresh for every run (the SDK's default, several ms of the
    # worker's CPU per run); false: once per process, shared by the runs (worker.py workflow_runner)
    worker_reimport_workflows: bool = False
    # `relay api --with-worker` (issue #19): a worker in each API process, sharing its Temporal
    # client, so a trigger's first workflow task comes back in the start's answer (eager start)
    api_with_worker: bool = False
    worker_metrics_port: int = 9464  # the Temporal SDK's Prometheus metrics of `relay worker`; 0 turns them off

    @model_validator(mode="after")
    def _refuse_unsafe_defaults(self) -> Settings:
        if self.env == "production" and not self.secret_key:
            # Connection secrets cannot be encrypted without it (SPEC §5).
            raise ValueError("RELAY_SECRET_KEY must be set outside dev (RELAY_ENV=dev or test)")
        from app.quotas import parse_quotas  # refused at start, not at the first request

        parse_quotas(self.tenant_quotas)
        return self

    @property
    def cors_origin_list(self) -> list[str]:
        return [item.strip() for item in self.cors_origins.split(",") if item.strip()]

    @property
    def outbound_allow_list(self) -> list[str]:
        return [item.strip() for item in self.outbound_allow.split(",") if item.strip()]


@lru_cache
def get_settings() -> Settings:
    return Settings()
