"""The seed documents' own spellings (SPEC §2.1, ../shared/seeds/, docs/seeds.md), pure code.

Seed 001 (block-graph workflows) sends the canonical body of SPEC §2 but names its trigger
types in its own product's words. `canonical_trigger` maps them, once, before validation:

  * manual-trigger, ai-trigger, manual-ticket-trigger -> manual
  * cron-trigger -> schedule; trigger_configuration {"cron": …} (kept) or a bare cron string
  * webhook, form-trigger -> webhook
  * any other kebab-case name a-b-…-y-z -> event on "a_b_…_y.z"
    (ticket-created -> ticket.created, sla-first-reply-breached -> sla_first_reply.breached);
    a configuration object may add "conditions" (and repeat the same "event")
  * `trigger_configuration: null` means none, for every trigger type (`trigger_constraints:
    null` already did). The canonical names pass unchanged; any other string is refused here,
    naming it (a non-string is left to validation).

Seed 003 (API-traffic workflows): its `trigger` object is read by workflows/seed_traffic.py.

Seeds 000, 002 and 004 (docs/seeds.md):

  * 000 (CRM rules) is the single-rule shorthand; `crm_action_input`: create_task and
    update_field without entity / entity_id act on the entity that triggered the rule.
  * 002 (drafts per linked account): `IGNORED_FIELDS` are accepted and not kept (Relay has no
    applications); `LINKED_ACCOUNT_HEADERS` name the tenant a request acts for (app/deps.py);
    a body with a name and no definition is a draft (app/services/workflows.py).
  * 004 (automation templates): trigger bodies take camelCase (`entityType`, `entityId`) and
    default to `API_TRIGGER_ENTITY` and the workflow's id (app/routers/workflows.py); its
    `/v1/automations…` paths are app/routers/automations.py.
"""

from __future__ import annotations

import re
from typing import Any

from workflows.problems import Problem

# --- seed 001: trigger_type names on the canonical form -------------------------------------

CANONICAL_TRIGGER_TYPES = ("manual", "webhook", "schedule", "event", "threshold")

# Every name seed 001 lists (its enum), in its order; only the first six are not event names.
SEED_001_TRIGGER_TYPES = (
    "manual-trigger", "ai-trigger", "cron-trigger", "form-trigger", "webhook", "contact-created",
    "phone-call-started", "phone-call-finished", "ticket-created", "ticket-reassigned", "ticket-resolved",
    "ticket-handoff", "pre-ticket-handoff", "ticket-tag-added", "ticket-inactive", "sequence-completed",
    "csat-score-submit", "prohibited-topic-detected", "sla-first-reply-breached", "sla-next-reply-breached",
    "sla-resolution-breached", "voice-call-transferred", "pre-voice-call-transfer", "pre-phone-call-finished",
    "manual-ticket-trigger",
)
NAMED_TRIGGERS = {
    "manual-trigger": "manual", "ai-trigger": "manual", "manual-ticket-trigger": "manual",
    "cron-trigger": "schedule", "webhook": "webhook", "form-trigger": "webhook",
}
_EVENT_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)+$")


class SeedTriggerError(ValueError):
    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in problems))
        self.problems = problems


def event_name(trigger_type: str) -> str | None:
    """"ticket-created" -> "ticket.created"; None for a name that is not kebab-case."""
    if not _EVENT_NAME.match(trigger_type):
        return None
    entity, _, action = trigger_type.rpartition("-")
    return f"{entity.replace('-', '_')}.{action}"


def canonical_trigger(body: dict[str, Any]) -> dict[str, Any]:
    """`body` (snake_case keys) with a seed trigger name and null trigger fields made canonical."""
    out = dict(body)
    if "trigger_configuration" in out and out["trigger_configuration"] is None:
        out["trigger_configuration"] = {}  # (trigger_constraints: null is already "none")
    kind = out.get("trigger_type")
    if not isinstance(kind, str) or kind in CANONICAL_TRIGGER_TYPES:
        return out
    config = out.get("trigger_configuration", {})
    if kind in NAMED_TRIGGERS:
        out["trigger_type"] = NAMED_TRIGGERS[kind]
        if kind == "cron-trigger" and isinstance(config, str):
            out["trigger_configuration"] = {"cron": config}
        return out
    event = event_name(kind)
    if event is None:
        raise SeedTriggerError([Problem("trigger_type", f"unknown trigger type {kind[:80]!r}: one of "
                                        f"{', '.join(CANONICAL_TRIGGER_TYPES)}, manual-trigger, ai-trigger, "
                                        "cron-trigger, form-trigger or an event name such as ticket-created")])
    if not isinstance(config, dict):
        raise SeedTriggerError([Problem("trigger_configuration", f"a {kind} trigger takes an object "
                                        f"(conditions), not {config!r}"[:200])])
    config = dict(config)
    if config.get("event", event) != event:
        raise SeedTriggerError([Problem("trigger_configuration.event",
                                        f"a {kind} trigger listens to {event!r}, not {config['event']!r}")])
    out["trigger_type"], out["trigger_configuration"] = "event", {**config, "event": event}
    return out


# --- helpers shared with workflows/shorthand.py --------------------------------------------

def rename_keys(obj: dict[str, Any], aliases: dict[str, str], path: str, problems: list[Problem]) -> dict[str, Any]:
    """`obj` with camelCase keys renamed by `aliases`; the same key in both spellings is a problem."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        name = aliases.get(key, key)
        if name in out:
            problems.append(Problem(join(path, key), f"'{name}' is given twice (snake_case and camelCase)"))
        out[name] = value
    return out


def join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


# --- seeds 000, 002, 004 ---------------------------------------------------------------------

ENTITY_ACTIONS = ("create_task", "update_field")
IGNORED_FIELDS = frozenset({"slug", "associated_application"})
LINKED_ACCOUNT_HEADERS = ("relay-tenant", "linked_account_id", "linked-account-id")
API_TRIGGER_ENTITY = "api_trigger"


def crm_action_input(action_type: str, action_input: dict[str, Any]) -> dict[str, Any]:
    """Seed 000: a rule's create_task / update_field act on the entity that triggered it."""
    if action_type not in ENTITY_ACTIONS:
        return action_input
    return {"entity": "{{trigger.entity}}", "entity_id": "{{trigger.entity_id}}", **action_input}
