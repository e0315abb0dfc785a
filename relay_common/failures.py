"""The one registry of `ApplicationError` types passed between workflows and activities.

They are written into Temporal history (a step's record shows its `error_type`), and recorded
histories in tests/histories/ contain them: a name never changes. One naming style, PascalCase,
with one exception kept for running watchers: a refused `fire_threshold` activity carries the
refusal's kind (app/services/errors.py, SPEC §3's snake_case code), and `ThresholdWatcher` stops
when that kind is `WORKFLOW_GONE`.
"""

from __future__ import annotations


class Failure:
    # workflow code (workflows/)
    USER_ERROR = "UserError"  # a mistake in the definition or its data: not retried
    STEP_FAILED = "StepFailed"
    STOPPED = "Stopped"
    CALL_FAILED = "CallFailed"  # a call_workflow's child ended other than completed
    CALL_DEPTH_EXCEEDED = "CallDepthExceeded"
    # activities (activities/)
    VALIDATION_ERROR = "ValidationError"
    CONNECTION_NOT_FOUND = "ConnectionNotFound"
    SECRET_NOT_FOUND = "SecretNotFound"
    CONNECTOR_NOT_CONFIGURED = "ConnectorNotConfigured"
    CHANNEL_NOT_CONFIGURED = "ChannelNotConfigured"
    SLACK_ERROR = "SlackError"
    SMTP_NOT_CONFIGURED = "SmtpNotConfigured"
    SMTP_NOT_SUPPORTED = "SmtpNotSupported"
    SMTP_REFUSED = "SmtpRefused"
    SMTP_TEMPORARY_FAILURE = "SmtpTemporaryFailure"
    NETWORK_ERROR = "NetworkError"
    OUTBOUND_REFUSED = "OutboundRefused"
    HTTP_CLIENT_ERROR = "HttpClientError"
    HTTP_SERVER_ERROR = "HttpServerError"
    HTTP_RATE_LIMITED = "HttpRateLimited"
    HTTP_UNEXPECTED_STATUS = "HttpUnexpectedStatus"
    # fire_threshold's refusal when the workflow no longer exists (a DomainError kind, see above)
    WORKFLOW_GONE = "not_found"
