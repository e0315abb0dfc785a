"""Alerts: recorded in the database (GET /v1/alerts) and posted to the tenant's `alert` connection."""

from __future__ import annotations

import asyncio
import json
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.db.session import make_sessionmaker
from app.db.repo import alerts as alert_rows
from app.db.tables import Alert

log = structlog.get_logger("relay.alerts")
_pending: set[asyncio.Task] = set()


def alert_view(alert: Alert) -> dict[str, Any]:
    return {"id": alert.id, "kind": alert.kind, "workflow_id": alert.workflow_id, "message": alert.message,
            "details": alert.details, "delivered": alert.delivered, "created_at": alert.created_at}


def deliver_later(settings: Settings, engine: AsyncEngine, alert: Alert) -> None:
    """Post the alert in the background: the request that tripped the breaker does not wait for it."""
    task = asyncio.create_task(_deliver(settings, engine, alert))
    _pending.add(task)
    task.add_done_callback(_pending.discard)


async def _deliver(settings: Settings, engine: AsyncEngine, alert: Alert) -> None:
    from app.services.connections import DatabaseConnectionStore

    maker = make_sessionmaker(engine)
    store = DatabaseConnectionStore(maker, settings)
    try:
        async with maker() as session:  # the default alert connection, else the oldest one
            name = await alert_rows.alert_connection_name(session, tenant_id=alert.tenant_id)
        connection = await store.get_connection(alert.tenant_id, "alert", name) if name else None
        if connection is None:
            return
        payload = {"alert": json.loads(json.dumps(alert_view(alert), default=str))}
        if connection.config.get("url"):
            from activities.outbound import send

            response = await send("POST", connection.config["url"], json=payload,
                                  headers={"Idempotency-Key": alert.id}, timeout=10,
                                  allow=settings.outbound_allow_list, max_bytes=64 * 1024, depth=0)
            delivered = 200 <= response.status_code < 300
        elif connection.config.get("email") and settings.smtp_host:
            from activities.email import server_target

            target = server_target(settings)  # the same server settings as an email step's, TLS on 465 included
            message = EmailMessage()
            message["From"], message["To"] = target.sender, connection.config["email"]
            message["Subject"] = f"Relay alert: {alert.kind}"
            message.set_content(alert.message)
            await aiosmtplib.send(message, hostname=target.host, port=target.port, username=target.username,
                                  password=target.password, start_tls=target.start_tls, use_tls=target.use_tls,
                                  timeout=settings.outbound_timeout_seconds)
            delivered = True
        else:
            return
    except Exception:  # noqa: BLE001 - an alert that cannot be posted stays listed, undelivered
        log.warning("alert.delivery_failed", alert_id=alert.id, tenant_id=alert.tenant_id, exc_info=True)
        return
    if delivered:
        async with make_sessionmaker(engine)() as session:
            await alert_rows.mark_delivered(session, alert_id=alert.id)
