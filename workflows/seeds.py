"""Seed 001's trigger names on the canonical form (SPEC §2.1, docs/seeds.md), pure code.

Seed 001 (block-graph workflows) sends the canonical body of SPEC §2 but names its trigger
types in its own product's words. `canonical_trigger` maps them, once, before validation:

  * manual-trigger, ai-trigger, manual-ticket-trigger -> manual
  * cron-trigger -> schedule; trigger_configuration {"cron": …} (kept) or a bare cron string
  * webhook, form-trigger -> webhook
  * any other kebab-case name a-b-…-y-z -> event on "a_b_…_y.z"
    (ticket-created -> ticket.created, sla-first-reply-breached -> sla_first_reply.breached);
    a configuration object may add "conditions" (and repeat the same "event")

`trigger_configuration: null` and `trigger_constraints: null` mean none, for every trigger
type. The canonical names (manual, webhook, schedule, event, threshold) pass unchanged, and so
does anything else, which validation then refuses naming the value.

Seed 003's shapes are the "trigger + ordered actions" shorthand: workflows/shorthand.py.
"""

from __future__ import annotations

import re
from typing import Any

from workflows.problems import Problem

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
        return out  # validation names the value it refuses
    if not isinstance(config, dict):
        raise SeedTriggerError([Problem("trigger_configuration", f"a {kind} trigger takes an object "
                                        f"(conditions), not {config!r}"[:200])])
    config = dict(config)
    if config.get("event", event) != event:
        raise SeedTriggerError([Problem("trigger_configuration.event",
                                        f"a {kind} trigger listens to {event!r}, not {config['event']!r}")])
    out["trigger_type"], out["trigger_configuration"] = "event", {**config, "event": event}
    return out
