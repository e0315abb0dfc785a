"""Drill 4: the HTTP and SMTP receivers are down when their steps run and come back on the same ports."""

from __future__ import annotations

import asyncio
import time

from tests.faults.harness import Drill
from tests.faults.receivers import DrillReceiver, DrillSmtpReceiver

DOWN_FOR = 3.0
RETRY = {"max_attempts": 20, "initial_interval": "500ms", "backoff": 1.5, "max_interval": "2s"}


async def test_receivers_down_for_a_while_the_steps_retry_and_deliver_once(drill: Drill):
    await drill.start_all(workers=1)
    receiver, mailbox = DrillReceiver(), DrillSmtpReceiver()
    await receiver.start()
    await asyncio.to_thread(mailbox.start)
    try:
        async with drill.http() as http:
            created = await http.post("/v1/connections", json={
                "name": "drill smtp", "type": "smtp", "default": True,
                "config": {"host": "127.0.0.1", "port": mailbox.port}})
            assert created.status_code == 201, created.text
        workflow_id = await drill.create_workflow([
            {"$kind": "Block", "type": "parallel", "id": "both", "branches": {
                "http": [{"$kind": "Action", "id": "call", "type": "webhook", "retry": RETRY, "timeout": "5s",
                          "input": {"url": f"{receiver.url}/hook", "body": {"n": 1}}}],
                "mail": [{"$kind": "Action", "id": "mail", "type": "send_email", "retry": RETRY, "timeout": "5s",
                          "input": {"to": ["ops@example.com"], "subject": "drill", "body": "hello"}}]}}])
        await receiver.stop()  # nothing listens on either port now
        await asyncio.to_thread(mailbox.stop)

        instance = await drill.trigger(workflow_id)
        await asyncio.sleep(DOWN_FOR)
        assert receiver.requests == [] and mailbox.messages == []
        back_at = time.monotonic()
        await receiver.start()  # the same ports again
        await asyncio.to_thread(mailbox.start)
        done = await drill.wait_for_status(instance["id"], timeout=60)
        finished_after = time.monotonic() - back_at
        await asyncio.sleep(0.5)  # a duplicate delivery would arrive now
    finally:
        await receiver.stop()
        await asyncio.to_thread(mailbox.stop)

    steps = {step["id"]: step for step in done["steps"]}
    delivered_after = receiver.requests[0].at - back_at if receiver.requests else None
    summary = (f"receiver down {DOWN_FOR:g}s: status={done['status']} webhook attempts={steps['call']['attempts']} "
               f"requests={len(receiver.requests)}; send_email attempts={steps['mail']['attempts']} "
               f"messages={len(mailbox.messages)}; webhook delivered {delivered_after and round(delivered_after, 1)}s "
               f"and the run completed {finished_after:.1f}s after the receivers came back")
    print(summary)
    assert done["status"] == "completed", summary
    assert steps["call"]["attempts"] > 1 and steps["mail"]["attempts"] > 1, summary  # they retried while down
    assert len(receiver.requests) == 1 and len(mailbox.messages) == 1, summary
    assert receiver.requests[0].headers["idempotency-key"] == f"{instance['id']}:call", summary
    assert mailbox.messages[0].message["X-Relay-Idempotency-Key"] == f"{instance['id']}:mail", summary
    # Backoff 500 ms x 1.5, capped at 2 s: the next attempt comes within ~2 s of the receiver's return.
    assert finished_after < 15, summary
