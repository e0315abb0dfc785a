"""Action inputs (SPEC §2.4's table) and the strict base model of the definition (pydantic, no I/O)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", validate_by_name=True, validate_by_alias=True, serialize_by_alias=True
    )



# ---------------------------------------------------------------- action inputs
# Fields are loosely typed because any of them may be a template token
# ("{{trigger.data.emails}}" for `to`); unknown fields are refused.


class SendEmailInput(Model):
    to: list[str] | str | None = None  # none: the tenant's default alert connection's email (seed 003)
    cc: list[str] | str | None = None
    bcc: list[str] | str | None = None
    subject: str = ""
    body: str | None = None
    html: str | None = None
    from_: str | None = Field(default=None, alias="from")
    reply_to: str | None = None
    connection: str | None = None


class WebhookInput(Model):
    url: str
    method: str = "POST"
    headers: dict[str, Any] | str | None = None
    query: dict[str, Any] | str | None = None
    body: Any = None
    timeout: str | float | None = None
    connection: str | None = None


class ChannelMessageInput(Model):
    channel: Literal["slack", "teams", "discord", "webhook"] | str
    message: str
    recipient: str | None = None
    username: str | None = None
    webhook_url: str | None = None
    connection: str | None = None


class CreateTaskInput(BaseModel):
    model_config = ConfigDict(extra="allow")  # host products add their own task fields
    title: str
    assignee: str | None = None
    due_in: str | None = None
    entity: str | None = None
    entity_id: str | int | None = None
    connection: str | None = None


class UpdateFieldInput(Model):
    entity: str
    entity_id: str | int
    field: str
    value: Any = None
    connection: str | None = None


ACTION_INPUT_MODELS: dict[str, type[BaseModel]] = {
    "send_email": SendEmailInput,
    "webhook": WebhookInput,
    "send_channel_message": ChannelMessageInput,
    "create_task": CreateTaskInput,
    "update_field": UpdateFieldInput,
}
