"""The `send_email` action (SPEC §2.4): one message through SMTP with aiosmtplib."""

from __future__ import annotations

import asyncio
import hashlib
import socket
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate, getaddresses
from typing import Any

import aiosmtplib
from temporalio.exceptions import ApplicationError

from activities.base import ActionContext, check_no_newlines, invalid, type_name
from activities.addresses import OutboundRefused, resolve_checked
from activities.secrets import redact
from activities.settings import ActivitySettings as Settings
from relay_common.failures import Failure


@dataclass
class SmtpTarget:
    host: str
    port: int
    username: str | None
    password: str | None
    start_tls: bool | None  # None: use STARTTLS when the server offers it
    use_tls: bool
    sender: str
    from_tenant: bool  # a tenant's connection: its host must pass the outbound rules


def message_id(idempotency_key: str) -> str:
    """The same Message-ID for every attempt of one step, so receivers can de-duplicate."""
    return f"<{hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]}@relay>"


async def send_email(ctx: ActionContext) -> dict[str, Any]:
    data = await ctx.resolved_input()
    target = await _target(ctx, data.get("connection"))
    to = _addresses(data.get("to"), "to")
    cc = _addresses(data.get("cc"), "cc")
    bcc = _addresses(data.get("bcc"), "bcc")
    if not to and not cc and not bcc:  # seed 003's email actions name no recipient
        to = await _alert_recipients(ctx)
    if not to and not cc and not bcc:
        raise invalid("to: at least one recipient is required (or a default alert connection with an email)")
    sender = _addresses(data.get("from") or target.sender, "from")
    if not sender:
        raise invalid("from: no sender address (set `from` on the step, the connection or RELAY_SMTP_FROM)")
    msg = _message(ctx, data, sender=sender, to=to, cc=cc)
    recipients = [addr for _, addr in getaddresses(to + cc + bcc)]
    envelope_from = getaddresses(sender)[0][1]
    timeout = ctx.settings.outbound_timeout_seconds
    try:
        # A tenant's host is resolved once, checked, and that address is the one connected to
        # (a second lookup could be answered with another address: DNS rebinding). The name
        # stays aiosmtplib's `hostname`, so TLS checks the certificate against it (SNI).
        sock = await _checked_socket(target, ctx.settings.outbound_allow_list, timeout) if target.from_tenant else None
        refused, _ = await aiosmtplib.send(
            msg,
            sender=envelope_from,
            recipients=recipients,
            hostname=target.host,
            port=None if sock else target.port,
            sock=sock,
            username=target.username,
            password=target.password,
            start_tls=target.start_tls,
            use_tls=target.use_tls,
            timeout=timeout,
        )
    except aiosmtplib.SMTPException as exc:
        raise _smtp_error(exc, target, ctx.secrets) from None
    except OutboundRefused as exc:
        message = redact(f"SMTP: {exc}", ctx.secrets)
        raise ApplicationError(message, type=Failure.OUTBOUND_REFUSED, non_retryable=True) from None
    except (OSError, TimeoutError) as exc:
        message = redact(f"SMTP server {target.host}:{target.port} failed: {exc or type(exc).__name__}", ctx.secrets)
        raise ApplicationError(message, type=Failure.NETWORK_ERROR) from None
    return {
        "message_id": msg["Message-ID"],
        "accepted": [r for r in recipients if r not in refused],
    }


def _message(ctx: ActionContext, data: dict[str, Any], *, sender: list[str], to: list[str],
             cc: list[str]) -> EmailMessage:
    """The message (bcc recipients are on the envelope only); the same Message-ID on every attempt."""
    reply_to = _addresses(data.get("reply_to"), "reply_to")
    msg = EmailMessage()
    msg["From"] = ", ".join(sender)
    if to:
        msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    if reply_to:
        msg["Reply-To"] = ", ".join(reply_to)
    msg["Subject"] = check_no_newlines("subject", _text(data.get("subject"), "subject"))
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = message_id(ctx.action.idempotency_key)
    msg["X-Relay-Idempotency-Key"] = ctx.action.idempotency_key
    msg.set_content(_text(data.get("body"), "body"))
    html = _text(data.get("html"), "html")
    if html:
        msg.add_alternative(html, subtype="html")
    return msg


async def _checked_socket(target: SmtpTarget, allow: list[str], timeout: float) -> socket.socket:
    """A socket connected to the address `target.host` resolved to once and passed the outbound rules."""
    ip = await resolve_checked(target.host, target.port, allow)
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        async with asyncio.timeout(timeout):
            await asyncio.get_running_loop().sock_connect(sock, (ip, target.port))
    except BaseException:
        sock.close()
        raise
    return sock


def server_target(settings: Settings) -> SmtpTarget:
    """The operator's SMTP server (RELAY_SMTP_*): for steps without a tenant connection, and alerts."""
    return SmtpTarget(
        host=settings.smtp_host or "",
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=settings.smtp_password,
        start_tls=settings.smtp_starttls,
        use_tls=settings.smtp_port == 465,
        sender=settings.smtp_from,
        from_tenant=False,
    )


async def _target(ctx: ActionContext, ref: Any) -> SmtpTarget:
    conn = await ctx.connection("smtp", ref)
    settings = ctx.settings
    if conn is not None:
        cfg, sec = conn.config, conn.secrets
        if not cfg.get("host"):
            raise ApplicationError(
                f"smtp connection {conn.name!r} has no host", type=Failure.SMTP_NOT_CONFIGURED, non_retryable=True
            )
        try:  # a mistake in the connection's config: retrying cannot help
            port = int(cfg.get("port") or 25)
        except (TypeError, ValueError):
            raise ApplicationError(f"smtp connection {conn.name!r}: port {cfg.get('port')!r} is not a number",
                                   type=Failure.SMTP_NOT_CONFIGURED, non_retryable=True) from None
        use_tls = bool(cfg.get("tls", port == 465))
        if use_tls and cfg.get("starttls"):
            raise ApplicationError(f"smtp connection {conn.name!r}: tls and starttls exclude each other",
                                   type=Failure.SMTP_NOT_CONFIGURED, non_retryable=True)
        return SmtpTarget(
            host=str(cfg["host"]),
            port=port,
            username=sec.get("username"),
            password=sec.get("password"),
            start_tls=cfg.get("starttls"),
            use_tls=use_tls,
            sender=str(cfg.get("from") or settings.smtp_from),
            from_tenant=True,
        )
    if settings.smtp_host:
        for value in (settings.smtp_username, settings.smtp_password):
            if value:
                ctx.secrets.add(value)
        return server_target(settings)
    raise ApplicationError(
        "no SMTP server configured: create a default smtp connection or set RELAY_SMTP_HOST",
        type=Failure.SMTP_NOT_CONFIGURED,
        non_retryable=True,
    )


async def _alert_recipients(ctx: ActionContext) -> list[str]:
    """The email of the tenant's default `alert` connection: where an email without `to` goes."""
    conn = await ctx.connection("alert", None)
    return _addresses(conn.config.get("email"), "alert connection email") if conn is not None else []


def _addresses(value: Any, what: str) -> list[str]:
    if value is None or value == "":
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise invalid(f"{what} must be an address or a list of addresses, not {type_name(value)}")
    result = []
    for item in items:
        check_no_newlines(f"{what} address", item)
        parsed = getaddresses([item])
        if not parsed or any("@" not in addr for _, addr in parsed):
            raise invalid(f"{what}: {item!r} is not an email address")
        result.extend(formataddr(pair) for pair in parsed)
    return result


def _text(value: Any, what: str) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        raise invalid(f"{what} must be text, not {type_name(value)}")
    return str(value)


def _smtp_error(exc: aiosmtplib.SMTPException, target: SmtpTarget, secrets: set[str]) -> ApplicationError:
    where = f"SMTP server {target.host}:{target.port}"
    codes: list[int] = []
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        text = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
    elif isinstance(exc, aiosmtplib.SMTPResponseException):
        codes = [exc.code]
        text = f"{exc.code} {exc.message}"
    else:
        text = str(exc) or type(exc).__name__
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return ApplicationError(redact(f"{where}: {text}", secrets), type=Failure.SMTP_NOT_SUPPORTED, non_retryable=True)
    if codes and all(code >= 500 for code in codes):
        return ApplicationError(
            redact(f"{where} refused the message: {text}", secrets), type=Failure.SMTP_REFUSED, non_retryable=True
        )
    if codes:
        return ApplicationError(redact(f"{where} deferred the message: {text}", secrets), type=Failure.SMTP_TEMPORARY_FAILURE)
    return ApplicationError(redact(f"{where} failed: {text}", secrets), type=Failure.NETWORK_ERROR)
