"""The one camelCase alias table: every camelCase spelling of a body field Relay accepts (SPEC §2.1 and
the seeds), and the snake_case field it means. Each reader takes the part for the fields it knows
(`camel_aliases`), so a camelCase key of another form stays unknown there and is refused by name.
(Request models of the API take camelCase through pydantic's `to_camel`, which spells them alike.)
"""

from __future__ import annotations

CAMEL_CASE = {
    "triggerType": "trigger_type",
    "triggerConfiguration": "trigger_configuration",
    "triggerConstraints": "trigger_constraints",
    "workflowBlocks": "workflow_blocks",
    "flowControl": "flow_control",
    "isActive": "enabled",
    "maxTriggersPerDay": "max_triggers_per_day",
    "workflowEditorState": "workflow_editor_state",
    "rotateWebhookToken": "rotate_webhook_token",
    "onFailureWorkflowId": "on_failure_workflow_id",
    "conditionEntity": "condition_entity",
    "conditionField": "condition_field",
    "conditionOperator": "condition_operator",
    "conditionValue": "condition_value",
    "actionType": "action_type",
    "actionConfig": "action_config",
    "onError": "on_error",
    "timeWindow": "time_window",
}


def camel_aliases(*fields: str) -> dict[str, str]:
    """camelCase → snake_case for `fields` only."""
    return {camel: snake for camel, snake in CAMEL_CASE.items() if snake in fields}
