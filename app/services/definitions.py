"""A workflow body as the API receives it → a checked definition and settings (SPEC §2.1).

camelCase and the shorthand and seed forms become canonical (`normalise`), unknown fields are refused
(`accepted`), the definition is validated (`validate`) and the settings checked (`check_settings`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from activities.outbound import url_refusal
from app.config import Settings
from app.services.errors import InvalidInput
from relay_common.secret_paths import NOT_SHOWN, is_secret_path
from workflows import seeds, shorthand
from workflows.aliases import camel_aliases
from workflows.definition import Definition, has_control_characters
from workflows.problems import shorten
from workflows.source_paths import as_written, source_paths
from workflows.validation import DefinitionInvalid, ValidationOptions, parse_definition

SETTING_FIELDS = {"enabled", "max_triggers_per_day", "publish", "workflow_editor_state", "rotate_webhook_token",
                  "on_failure_workflow_id"}
DEFINITION_FIELDS = {"trigger_type", "trigger_configuration", "trigger_constraints", "workflow_blocks", "flow_control"}
CAMEL = camel_aliases(*SETTING_FIELDS, *DEFINITION_FIELDS)


def normalise(body: dict[str, Any]) -> dict[str, Any]:
    """camelCase aliases → snake_case, and the shorthand forms and seed spellings of SPEC §2.1
    → canonical (workflows/shorthand.py, workflows/seeds.py; docs/seeds.md)."""
    try:
        if shorthand.is_shorthand(body):
            body = shorthand.to_canonical(body)
        return seeds.canonical_trigger({CAMEL.get(key, key): value for key, value in body.items()})
    except (shorthand.ShorthandError, seeds.SeedTriggerError) as error:
        raise InvalidInput("the workflow definition is not valid",
                           details=[p.as_detail() for p in error.problems]) from None


@contextmanager
def reported_as_written(original: dict[str, Any]) -> Iterator[None]:
    """A validation_error of the normalised body names the paths `original` wrote
    (`action_config.message`, `trigger.conditions.0.timeWindow`, `isActive`; docs/seeds.md)."""
    try:
        yield
    except InvalidInput as error:
        if error.details and isinstance(original, dict):
            pairs = source_paths(original, {**CAMEL, **shorthand.TOP_ALIASES})
            error.details = [{**d, "path": as_written(d["path"], pairs)}
                             if isinstance(d, dict) and isinstance(d.get("path"), str) else d for d in error.details]
        raise


def known_fields() -> set[str]:
    """Every top-level field some form of a workflow body knows, once normalised."""
    names = {field.alias or name for name, field in Definition.model_fields.items()} | set(Definition.model_fields)
    return names | SETTING_FIELDS | seeds.IGNORED_FIELDS


def accepted(body: dict[str, Any]) -> dict[str, Any]:
    """A normalised body whose every field some form knows (SPEC §2.1: none is silently dropped),
    without the seed fields Relay accepts and does not keep (seed 002's `slug`)."""
    unknown = sorted(set(body) - known_fields())
    if unknown:
        raise InvalidInput(f"unknown field{'s' if len(unknown) > 1 else ''} "
                           f"{', '.join(map(repr, unknown))}: no form of a workflow body knows "
                           f"{'them' if len(unknown) > 1 else 'it'}",
                           details=[{"path": key, "message": f"unknown field {key!r}"} for key in unknown])
    return {key: value for key, value in body.items() if key not in seeds.IGNORED_FIELDS}


def called_workflow_ids(value: Any) -> set[str]:
    """The `workflow_id` of every call_workflow block in a body (at any depth), before validation."""
    found: set[str] = set()
    if isinstance(value, dict):
        inputs = value.get("inputs")
        called = inputs.get("workflow_id") if isinstance(inputs, dict) else None
        if value.get("type") == "call_workflow" and isinstance(called, str):
            found.add(called)
        for item in value.values():
            found |= called_workflow_ids(item)
    elif isinstance(value, list):
        for item in value:
            found |= called_workflow_ids(item)
    return found


def validate(body: dict[str, Any], settings: Settings, known_workflows: frozenset[str] | None = None) -> Definition:
    allow, public_url = settings.outbound_allow_list, settings.public_url
    options = ValidationOptions(url_refusal=lambda url: url_refusal(url, allow, public_url),
                                known_workflows=known_workflows)
    definition_fields = {k: v for k, v in body.items() if k not in SETTING_FIELDS}
    try:
        return parse_definition(definition_fields, options)
    except DefinitionInvalid as error:
        raise InvalidInput("the workflow definition is not valid",
                           details=[p.as_detail() for p in error.problems]) from None

def _nul_at(value: Any, path: str) -> tuple[str, str] | None:
    """(path, text) of the first string (or key) holding U+0000 (depth is bounded by the body guard)."""
    if isinstance(value, str):
        return (path, value) if "\x00" in value else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        here = f"{path}.{key}" if path else str(key)
        if "\x00" in str(key):
            return here, str(key)
        found = _nul_at(item, here)
        if found is not None:
            return found
    return None


def refuse_nul(body: dict[str, Any]) -> None:
    """PostgreSQL text cannot hold U+0000 (a NUL in a description or event pattern was a 500 there)."""
    found = _nul_at(body, "")
    if found is not None:
        path, text = found
        shown = NOT_SHOWN if is_secret_path(path) else text.replace("\x00", "\\u0000")[:200]
        raise InvalidInput("the workflow definition is not valid", details=[{
            "path": path, "message": "NUL (U+0000) is not allowed in text", "value": shown}])


def runnable(body: dict[str, Any], settings: Settings) -> Definition:
    """An unsaved body (a dry run's) as runs carry a definition: checked, canonical, without secrets."""
    checked = validate(accepted(normalise(body)), settings)
    return Definition.model_validate(without_secrets(checked.model_dump(mode="json", by_alias=True)))


MAX_LIMIT = 2**31 - 1  # the column is a 32-bit integer on PostgreSQL; larger was a 500


def check_settings(body: dict[str, Any]) -> None:
    problems = []

    def refuse(key: str, message: str) -> None:
        problems.append({"path": key, "message": f"{message}; got {shorten(body[key])}"})

    if "enabled" in body and not isinstance(body["enabled"], bool):
        refuse("enabled", "must be true or false")
    limit = body.get("max_triggers_per_day", 100)
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT):
        refuse("max_triggers_per_day", f"must be an integer from 1 to {MAX_LIMIT} or null")
    if "workflow_editor_state" in body and not isinstance(body["workflow_editor_state"], (dict, type(None))):
        refuse("workflow_editor_state", "must be an object")
    for key in ("publish", "rotate_webhook_token"):
        if key in body and not isinstance(body[key], bool):
            refuse(key, "must be true or false")
    failure = body.get("on_failure_workflow_id")
    if failure is not None and (not isinstance(failure, str) or not 1 <= len(failure) <= 40):
        refuse("on_failure_workflow_id", "must be a workflow id of this tenant or null")
    if problems:
        raise InvalidInput("the workflow settings are not valid", details=problems)



def check_name(probe: dict[str, Any]) -> None:
    name = probe["name"]
    if not isinstance(name, str) or not 1 <= len(name) <= 120 or has_control_characters(name):
        raise InvalidInput("the workflow settings are not valid",
                           details=[{"path": "name",
                                     "message": "must be 1 to 120 characters without control characters "
                                                f"(NUL, CR, LF, …); got {shorten(name)}"}])
    if probe["description"] is not None and not isinstance(probe["description"], str):
        raise InvalidInput("the workflow settings are not valid",
                           details=[{"path": "description",
                                     "message": f"must be a string; got {shorten(probe['description'])}"}])



def without_secrets(definition: dict[str, Any]) -> dict[str, Any]:
    """The definition as the API shows it and as runs carry it: a webhook trigger's signing
    secret is write-only (it stays in the database, where only the hooks endpoint reads it)."""
    config = definition.get("trigger_configuration") or {}
    if "secret" not in config:
        return definition
    return {**definition, "trigger_configuration": {k: v for k, v in config.items() if k != "secret"}}


def secret_set(definition: dict[str, Any]) -> bool:
    return bool((definition.get("trigger_configuration") or {}).get("secret"))
