"""Turning outbound results into Temporal errors (SPEC §2.4): who retries and when."""

from __future__ import annotations

import asyncio
import email.utils
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

import httpx
from temporalio.exceptions import ApplicationError

from activities.outbound import OutboundRefused, OutboundResponse
from activities.scrub import redact, redact_cut
from relay_common.failures import Failure

MAX_RETRY_AFTER = timedelta(hours=1)
DETAIL_BODY_BYTES = 1024
SNIPPET_CHARS = 200


def retry_after(value: str | None, *, now: datetime | None = None) -> timedelta | None:
    """A `Retry-After` header (seconds or HTTP date) as a delay, capped at one hour."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        delay = timedelta(seconds=int(value))
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        delay = when - (now or datetime.now(timezone.utc))
    return max(timedelta(0), min(delay, MAX_RETRY_AFTER))


def body_text(body: bytes, limit: int) -> str:
    return body[:limit].decode("utf-8", errors="replace")


def check_response(
    response: OutboundResponse, *, method: str, shown: str, secrets: Iterable[str] = ()
) -> OutboundResponse:
    """Return a 2xx `response`; raise the ApplicationError its status calls for otherwise.

    `shown` is the target as messages may name it (the step's input with secrets masked)."""
    status = response.status_code
    if 200 <= status < 300:
        return response
    secrets = list(secrets)
    # Scrub the whole body before cutting it: a cut could split a secret past recognition.
    whole = body_text(response.body, len(response.body))
    scrubbed = redact_cut(whole, secrets) if response.truncated else redact(whole, secrets)
    detail_body = scrubbed[:DETAIL_BODY_BYTES]
    snippet = " ".join(detail_body.split())[:SNIPPET_CHARS] or "(empty body)"
    message = redact(f"{method.upper()} {shown} answered {status}: {snippet}", secrets)
    details = {"status_code": status, "body": detail_body}
    if status in (408, 429) or status >= 500:
        kind = Failure.HTTP_RATE_LIMITED if status == 429 else Failure.HTTP_SERVER_ERROR
        return _raise(
            ApplicationError(
                message,
                details,
                type=kind,
                next_retry_delay=retry_after(response.headers.get("retry-after")),
            )
        )
    kind = Failure.HTTP_CLIENT_ERROR if 400 <= status < 500 else Failure.HTTP_UNEXPECTED_STATUS
    return _raise(ApplicationError(message, details, type=kind, non_retryable=True))


def from_exception(
    exc: BaseException, *, method: str, shown: str, secrets: Iterable[str] = ()
) -> ApplicationError | None:
    """The ApplicationError for an exception of an outbound call (None: not ours to judge)."""
    where = f"{method.upper()} {shown}"
    if isinstance(exc, ApplicationError):
        return exc
    if isinstance(exc, OutboundRefused):
        return ApplicationError(redact(f"{where}: {exc}", secrets), type=Failure.OUTBOUND_REFUSED, non_retryable=True)
    if isinstance(exc, (httpx.TransportError, OSError, asyncio.TimeoutError)):
        reason = str(exc) or type(exc).__name__
        if isinstance(exc, (httpx.TimeoutException, asyncio.TimeoutError)):
            reason = f"timed out ({reason})"
        return ApplicationError(redact(f"{where} failed: {reason}", secrets), type=Failure.NETWORK_ERROR)
    return None


def _raise(error: ApplicationError) -> OutboundResponse:
    raise error
