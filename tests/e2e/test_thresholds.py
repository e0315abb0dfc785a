"""Threshold triggers end to end: POST /v1/metrics → the ThresholdWatcher → one run per crossing,
whose webhook reaches a real local receiver with the aggregate and the threshold."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from temporalio.service import RPCError

from tests.helpers.runs import wait_for_status
from tests.receivers import HttpReceiver
from workflows.threshold import WatcherState, watcher_id

BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)


def definition(url: str) -> dict:
    return {
        "name": "error rate alarm",
        "trigger_type": "threshold",
        "trigger_configuration": {"metric": "error_rate", "operator": "greater_than", "value": 5,
                                  "time_window": "5m", "aggregate": "avg"},
        "workflow_blocks": [
            {"$kind": "Action", "id": "alarm", "type": "webhook",
             "input": {"url": f"{url}/alarm", "body": {"v": "{{metric.value}}", "t": "{{metric.threshold}}"}}},
        ],
    }


def at(seconds: float) -> str:
    return (BASE + timedelta(seconds=seconds)).isoformat()


class Feed:
    """Posts points and waits until the watcher has taken them (its state is a Temporal query)."""

    def __init__(self, relay, http, tenant_id: str, workflow_id: str) -> None:
        self.relay, self.http = relay, http
        self.handle = relay.client.get_workflow_handle(watcher_id(tenant_id, workflow_id))
        self.sent = 0

    async def post(self, *pairs: tuple[float, float]) -> WatcherState:
        body = [{"metric": "error_rate", "value": value, "at": at(seconds)} for seconds, value in pairs]
        response = await self.http.post("/v1/metrics", json=body)
        assert response.status_code == 202, response.text
        self.sent += len(pairs)
        return await self.state(self.sent)

    async def state(self, received: int) -> WatcherState:
        for _ in range(300):
            try:
                state = await self.handle.query("state", result_type=WatcherState)
            except RPCError:
                state = None
            if state and state.points_received == received and not state.pending:
                return state
            await asyncio.sleep(0.05)
        raise AssertionError(f"the watcher did not take the points: {state}")


async def wait_for_requests(receiver: HttpReceiver, count: int, timeout: float = 30) -> None:
    for _ in range(int(timeout / 0.05)):
        if len(receiver.requests) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{len(receiver.requests)} requests, expected {count}")


async def test_threshold_fires_once_per_crossing_and_rearms_after_recovery(relay):
    tenant_id, key = await relay.tenant()
    _, other_key = await relay.tenant()
    async with HttpReceiver() as receiver, relay.http(key) as http, relay.http(other_key) as other:
        created = await http.post("/v1/workflows", json=definition(receiver.url))
        assert created.status_code == 201, created.text
        workflow_id = created.json()["data"]["id"]
        feed = Feed(relay, http, tenant_id, workflow_id)

        state = await feed.post((0, 1), (1, 2))  # avg 1.5: below
        assert not state.fired and state.recent_fires == []

        state = await feed.post((2, 20))  # avg 23/3: above → one run
        assert state.fired
        await wait_for_requests(receiver, 1)
        [fire] = state.recent_fires
        run = await wait_for_status(http, fire.instance_id, {"completed", "failed"})
        assert run["status"] == "completed", run
        assert run["trigger"]["type"] == "threshold"
        assert run["trigger"]["data"]["metric"] == "error_rate"
        assert receiver.requests[0].json() == {"v": 23 / 3, "t": 5}

        state = await feed.post((3, 30))  # more above: no second run
        assert state.fired and len(state.recent_fires) == 1

        state = await feed.post((400, 0))  # the window moved past the spike: armed again
        assert not state.fired and state.aggregate == 0
        state = await feed.post((401, 100))  # above again → a second run
        assert len(state.recent_fires) == 2
        await wait_for_requests(receiver, 2)
        assert receiver.requests[1].json() == {"v": 50, "t": 5}

        # Another tenant's error_rate never reaches this workflow.
        foreign = await other.post("/v1/metrics", json={"metric": "error_rate", "value": 1000, "at": at(402)})
        assert foreign.status_code == 202, foreign.text
        assert foreign.json()["data"] == {"accepted": 1, "matched": []}
        state = await feed.state(feed.sent)
        assert state.aggregate == 50 and len(state.recent_fires) == 2

        # The same tenant's own posts report what they reached.
        own = await http.post("/v1/metrics", json={"metric": "error_rate", "value": 50, "at": at(403)})
        assert own.json()["data"] == {"accepted": 1, "matched": [workflow_id]}
        await feed.state(feed.sent + 1)

    await asyncio.sleep(0.5)
    assert len(receiver.requests) == 2


async def test_metrics_are_validated_and_need_write_events(relay):
    _, key = await relay.tenant()
    _, reader = await relay.tenant(None, "read:workflows")
    async with relay.http(key) as http, relay.http(reader) as read_only:
        bad = await http.post("/v1/metrics", json=[
            {"metric": "", "value": 1},
            {"metric": "cpu", "value": "high"},
            {"metric": "cpu", "value": 1, "at": "yesterday"},
            {"metric": "cpu", "value": 1, "at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()},
            {"metric": "cpu", "value": 1, "unit": "%"},
        ])
        assert bad.status_code == 400, bad.text
        error = bad.json()["error"]
        assert error["code"] == "validation_error"
        assert [d["path"] for d in error["details"]] == ["0.metric", "1.value", "2.at", "3.at", "4.unit"]

        single = await http.post("/v1/metrics", json={"metric": "cpu", "value": True})
        assert single.status_code == 400 and single.json()["error"]["details"][0]["path"] == "value"

        too_many = await http.post("/v1/metrics", json=[{"metric": "cpu", "value": 1}] * 1001)
        assert too_many.status_code == 400, too_many.text

        fine = await http.post("/v1/metrics", json={"metric": "cpu", "value": 3})
        assert fine.status_code == 202 and fine.json()["data"] == {"accepted": 1, "matched": []}

        refused = await read_only.post("/v1/metrics", json={"metric": "cpu", "value": 3})
        assert refused.status_code == 403
