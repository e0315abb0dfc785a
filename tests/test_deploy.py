"""The production deployment files (docker-compose.yml, Dockerfile) say what the docs promise.

No Docker engine is needed: the files are parsed and compared with the code they deploy
(app.config.Settings, app.temporal.SEARCH_ATTRIBUTES).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from app.config import Settings
from app.temporal import SEARCH_ATTRIBUTES

ROOT = Path(__file__).resolve().parent.parent
SERVICES = {"postgresql", "temporal", "temporal-setup", "temporal-ui", "api", "worker"}
RELAY_PROCESSES = ("api", "worker")
# The settings SPEC §5, the README and docs/operations.md promise for a compose deployment.
PROMISED = {
    "RELAY_DATABASE_URL", "RELAY_TEMPORAL_ADDRESS", "RELAY_TEMPORAL_NAMESPACE", "RELAY_TASK_QUEUE",
    "RELAY_SECRET_KEY", "RELAY_PUBLIC_URL", "RELAY_TEMPORAL_UI_URL", "RELAY_REDIS_URL", "RELAY_LOG_FORMAT",
    "RELAY_RATE_LIMIT", "RELAY_OUTBOUND_ALLOW",
    "RELAY_SMTP_HOST", "RELAY_SMTP_PORT", "RELAY_SMTP_USERNAME", "RELAY_SMTP_PASSWORD", "RELAY_SMTP_STARTTLS",
    "RELAY_SMTP_FROM",
    "RELAY_WORKER_MAX_CONCURRENT_ACTIVITIES", "RELAY_WORKER_MAX_CONCURRENT_WORKFLOW_TASKS",
    "RELAY_WORKER_MAX_CACHED_WORKFLOWS", "RELAY_WORKER_METRICS_PORT",
    "RELAY_WORKER_WORKFLOW_TASK_POLLERS", "RELAY_WORKER_ACTIVITY_TASK_POLLERS",
    "RELAY_CORS_ORIGINS", "RELAY_TENANT_QUOTAS",
}
SECRET_NAME = re.compile(r"PASSWORD|PWD|SECRET|TOKEN|(^|_)KEY($|_)")
INTERPOLATION = re.compile(r"^\$\{[A-Z0-9_]+(:?[-?][^}]*)?\}$")
URL_PASSWORD = re.compile(r"^[a-z0-9+]+://[^:/@]+:(?P<password>[^@]+)@")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose: dict) -> dict:
    return compose["services"]


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
            for line in lines if line and not line.startswith("#")]


def environment(service: dict) -> dict[str, str | None]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return {key: None if value is None else str(value) for key, value in env.items()}


def published_ports(service: dict) -> set[int]:
    published = set()
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            published.add(int(port["published"]))
        else:  # "[host ip:]published:target"
            published.add(int(str(port).rsplit(":", 2)[-2]))
    return published


def command_words(service: dict) -> list[str]:
    command = service.get("command") or []
    return shlex.split(command) if isinstance(command, str) else [str(word) for word in command]


def test_every_service_of_the_deployment_exists(services):
    assert set(services) >= SERVICES


def test_the_api_and_the_temporal_ui_are_published_and_workers_can_be_scaled(services):
    assert 8000 in published_ports(services["api"])
    assert 8233 in published_ports(services["temporal-ui"])
    # `docker compose up --scale worker=N` needs no fixed host port and no fixed container name.
    assert not services["worker"].get("ports")
    assert "container_name" not in services["worker"]


def test_the_processes_run_the_relay_commands_on_the_built_image(services):
    assert command_words(services["api"])[:2] == ["relay", "api"]
    assert command_words(services["worker"]) == ["relay", "worker"]
    for name in RELAY_PROCESSES:
        assert services[name].get("build") in (".", {"context": "."})


def test_the_api_and_workers_start_after_postgresql_and_temporal_are_ready(services):
    for name in RELAY_PROCESSES:
        depends = services[name]["depends_on"]
        assert depends["postgresql"]["condition"] == "service_healthy"
        assert depends["temporal-setup"]["condition"] == "service_completed_successfully"
        for dependency, condition in depends.items():
            assert dependency in services
            if condition["condition"] == "service_completed_successfully":  # a one-shot: it must end
                assert services[dependency].get("restart", "no") not in ("always", "unless-stopped")
    assert services["temporal"]["depends_on"]["postgresql"]["condition"] == "service_healthy"
    assert services["temporal-setup"]["depends_on"]["temporal"]["condition"] == "service_healthy"


def test_services_that_others_wait_for_have_health_checks(services):
    assert "pg_isready" in " ".join(services["postgresql"]["healthcheck"]["test"])
    assert "cluster health" in " ".join(services["temporal"]["healthcheck"]["test"])
    assert "/readyz" in " ".join(services["api"]["healthcheck"]["test"])
    # The worker serves no HTTP: the image's /healthz check must not mark it unhealthy.
    assert services["worker"]["healthcheck"].get("disable") is True


def test_temporal_is_backed_by_the_postgresql_service(services):
    env = environment(services["temporal"])
    assert services["temporal"]["image"].startswith("temporalio/auto-setup:")
    assert env["DB"] == "postgres12"
    assert env["POSTGRES_SEEDS"] == "postgresql"
    assert env["DB_PORT"] == "5432"
    assert env["POSTGRES_USER"] and env["POSTGRES_PWD"]
    assert environment(services["temporal-ui"])["TEMPORAL_ADDRESS"] == "temporal:7233"


def test_temporal_reads_relays_dynamic_config_with_fairness_on(services):
    """The file docker-compose mounts where DYNAMIC_CONFIG_FILE_PATH points turns on what `relay dev`
    turns on (app/devserver.py FAIRNESS_CONFIG): priority, fairness, one partition per task queue."""
    from app.devserver import FAIRNESS_CONFIG

    temporal = services["temporal"]
    target = str(Path("/etc/temporal") / environment(temporal)["DYNAMIC_CONFIG_FILE_PATH"])  # the image's workdir
    mounts = dict(volume.rsplit(":", 1)[0].split(":", 1)[::-1] for volume in temporal["volumes"])
    assert mounts[target] == "./deploy/temporal/dynamicconfig.yaml" and temporal["volumes"][0].endswith(":ro")
    config = yaml.safe_load((ROOT / "deploy/temporal/dynamicconfig.yaml").read_text())
    unconstrained = {name: [entry["value"] for entry in entries if not entry["constraints"]]
                     for name, entries in config.items()}
    for name, value in FAIRNESS_CONFIG.items():
        assert unconstrained.get(name) == [yaml.safe_load(value)], name
    version = re.fullmatch(r"temporalio/auto-setup:\$\{TEMPORAL_VERSION:-(\d+)\.(\d+)\.\d+\}", temporal["image"])
    assert version and (int(version[1]), int(version[2])) >= (1, 29)  # the first server with matching.enableFairness


def test_relay_has_its_own_database_in_postgresql(services):
    env = environment(services["api"])
    assert re.match(r"^postgresql://relay:[^@]+@postgresql:5432/relay$", env["RELAY_DATABASE_URL"])
    mounts = [str(volume) for volume in services["postgresql"]["volumes"]]
    init = [mount.split(":")[0] for mount in mounts if "/docker-entrypoint-initdb.d/" in mount]
    assert init, "no init script creates the relay database"
    script = (ROOT / init[0]).read_text()
    assert "CREATE DATABASE relay" in script
    assert any(mount.split(":")[1] == "/var/lib/postgresql/data" for mount in mounts), "no data volume"


def test_every_promised_setting_reaches_the_api_and_the_workers(services):
    for name in RELAY_PROCESSES:
        missing = PROMISED - set(environment(services[name]))
        assert not missing, f"{name} lacks {sorted(missing)}"
        env = environment(services[name])
        assert env["RELAY_TEMPORAL_ADDRESS"] == "temporal:7233"
        assert env["RELAY_LOG_FORMAT"] == "json"


def test_every_relay_variable_in_compose_is_a_real_setting(services):
    fields = {"RELAY_" + name.upper() for name in Settings.model_fields}
    for name, service in services.items():
        unknown = {key for key in environment(service) if key.startswith("RELAY_")} - fields
        assert not unknown, f"{name} sets {sorted(unknown)}, which app/config.py does not read"


def test_the_secret_key_is_required_from_the_operator_not_written_down(services):
    for name in RELAY_PROCESSES:
        value = environment(services[name])["RELAY_SECRET_KEY"]
        assert re.fullmatch(r"\$\{RELAY_SECRET_KEY:\?[^}]*\}", value), value


def test_no_service_carries_a_literal_secret(services):
    for name, service in services.items():
        for key, value in environment(service).items():
            if value is None:  # passed through from the operator's environment
                continue
            if SECRET_NAME.search(key):
                assert INTERPOLATION.match(value), f"{name}: {key} is a literal"
            url = URL_PASSWORD.match(value)
            if url:
                assert INTERPOLATION.match(url["password"]), f"{name}: {key} has a literal password"


def test_the_registered_search_attributes_are_the_ones_relay_sets(services):
    setup = services["temporal-setup"]
    assert setup["image"].startswith("temporalio/admin-tools:")
    registered = dict(word.split("=", 1) for word in command_words(setup))
    assert registered == SEARCH_ATTRIBUTES
    mounts = dict(str(volume).split(":")[:2][::-1] for volume in setup["volumes"])  # container path -> host path
    script = setup["entrypoint"][-1]
    assert script in mounts, "the setup script is not mounted"
    text = (ROOT / mounts[script]).read_text()
    assert "temporal operator search-attribute create" in text


def test_the_image_runs_the_api_as_a_non_root_user(dockerfile):
    users = [args.split(":")[0] for instruction, args in dockerfile if instruction == "USER"]
    assert users and users[-1] not in ("root", "0")
    commands = [args for instruction, args in dockerfile if instruction == "CMD"]
    assert commands and commands[-1].startswith('["relay", "api"')
    assert any(instruction == "EXPOSE" and "8000" in args.split() for instruction, args in dockerfile)
    healthcheck = " ".join(args for instruction, args in dockerfile if instruction == "HEALTHCHECK")
    assert "urllib" in healthcheck and "/healthz" in healthcheck


def test_the_image_installs_the_locked_runtime_dependencies_only(dockerfile):
    installs = [args for instruction, args in dockerfile if instruction == "RUN" and "pip install" in args]
    assert installs
    assert any(re.search(r"pip install -c requirements\.lock \.(\s|$)", args) for args in installs)
    assert not any("[dev]" in args or ".[" in args for args in installs)
    assert dockerfile[0][1].startswith("python:3.11-slim")


def test_the_image_bakes_in_no_secret(dockerfile):
    for instruction, args in dockerfile:
        if instruction in ("ENV", "ARG"):
            assert not re.search(r"SECRET|PASSWORD|KEY|TOKEN", args.upper()), args
    # The build context is an allow-list, so an operator's .env never reaches a layer.
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert "*" in ignored and not any(line.startswith("!") and ".env" in line for line in ignored)
