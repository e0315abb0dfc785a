"""Synthetic rows as N days of traffic leave them, for the pruning test and bench/pruning.py."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.tables import Alert, IdempotencyRecord, TenantRunCounter, TriggerCounter


async def traffic(sessions: async_sessionmaker[AsyncSession], *, tenant_id: str, runs: int, days: int,
                  workflows: int = 20, alerts_per_day: int = 1, body_bytes: int = 600) -> None:
    """`runs` triggers spread evenly over the last `days` days (today included): each leaves an
    idempotency record with its response (about `body_bytes`, as an instance answer is) and a count
    in its workflow's and its tenant's day counters; `alerts_per_day` alerts a day."""
    now = datetime.now(UTC)
    per_day = max(1, runs // days)
    body = "x" * body_bytes
    async with sessions() as session:
        for day_back in range(days):
            at = now - timedelta(days=day_back, minutes=5)
            day = at.date().isoformat()
            for n in range(per_day):
                session.add(IdempotencyRecord(tenant_id=tenant_id, idempotency_key=f"syn-{day}-{n}-{uuid.uuid4().hex[:6]}",
                                              request_hash="0" * 64, state="done", response_status=201,
                                              response_body=body, response_headers={}, created_at=at))
            for w in range(workflows):
                session.add(TriggerCounter(workflow_id=f"wf_syn{w}{uuid.uuid4().hex[:8]}", day=day, tenant_id=tenant_id,
                                           count=per_day // workflows))
            session.add(TenantRunCounter(tenant_id=f"{tenant_id}-{uuid.uuid4().hex[:6]}", day=day, count=per_day))
            for _ in range(alerts_per_day):
                session.add(Alert(id=f"alr_{uuid.uuid4().hex}", tenant_id=tenant_id, kind="circuit_breaker",
                                  message="synthetic", created_at=at))
            await session.commit()
