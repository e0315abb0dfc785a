"""SPEC §2.7 flow control through the real API, Temporal dev server and local receivers:
concurrency per key, throttle windows, the `queued` status, cancelling a queued instance."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import datetime

from tests.e2e.test_instances import list_all
from tests.helpers.runs import wait_for_status
from tests.receivers import HttpReceiver


def hook(step_id: str, url: str, **body) -> dict:
    return {"$kind": "Action", "id": step_id, "type": "webhook",
            "input": {"url": url, "body": {"step": step_id, "instance": "{{instance.id}}", **body}}}


def pause(seconds: float, step_id: str = "hold") -> dict:
    return {"$kind": "Block", "type": "delay", "id": step_id, "inputs": {"duration": f"{int(seconds * 1000)}ms"}}


async def create(http, name: str, blocks: list, flow: dict) -> dict:
    response = await http.post("/v1/workflows", json={"name": name, "max_triggers_per_day": None,
                                                      "workflow_blocks": blocks, "flow_control": flow})
    assert response.status_code == 201, response.text
    return response.json()["data"]


def runs_by_key(receiver: HttpReceiver, since: int = 0) -> dict[str, list[str]]:
    """Per key, the instances in the order they began; fails if two of a key's runs overlapped
    (a run's `begin` and `end` requests must bracket it, by their arrival at the receiver)."""
    hits: dict[str, list] = defaultdict(list)
    for request in receiver.requests[since:]:
        body = request.json()
        hits[body["key"]].append((request.at, body["step"], body["instance"]))
    begun = {}
    for account, seen in hits.items():
        steps = [step for _, step, _ in sorted(seen)]
        assert steps == ["begin", "end"] * (len(seen) // 2), f"{account}: two runs overlapped: {sorted(seen)}"
        begun[account] = [instance for _, step, instance in sorted(seen) if step == "begin"]
    return begun


async def test_concurrency_one_per_key_in_arrival_order(relay):
    """20 racing starts over 3 keys with limit 1: never two running for a key (from the receiver's
    arrival times), all 20 complete; then 3 keys racing, each key's starts one after another while
    its runs queue: each key's runs begin in the order its starts arrived."""
    _, key = await relay.tenant()
    async with HttpReceiver() as receiver, relay.http(key) as http:
        workflow = await create(http, "one at a time", [
            hook("begin", receiver.url, key="{{trigger.data.account}}"),
            hook("end", receiver.url, key="{{trigger.data.account}}")],
            {"concurrency": {"limit": 1, "key": "{{trigger.data.account}}"}})
        assert workflow["flow_control"] == {"concurrency": {"limit": 1, "key": "{{trigger.data.account}}"},
                                            "throttle": None, "debounce": None, "batch": None, "priority": 3}

        async def start(account: str) -> dict:
            answer = await http.post(f"/v1/workflows/{workflow['id']}/trigger", json={"data": {"account": account}})
            assert answer.status_code == 201, answer.text
            return answer.json()["data"]

        racing = await asyncio.gather(*(start(f"acct-{n % 3}") for n in range(20)))
        done = [await wait_for_status(http, i["id"], {"completed", "failed"}, timeout=60) for i in racing]
        raced = runs_by_key(receiver)
        for _ in range(40):  # every step answers after 0.1 s: a run holds its slot while the next starts arrive
            receiver.respond(200, {"ok": True}, delay=0.1)
        since = len(receiver.requests)

        async def in_turn(account: str, count: int) -> list[str]:
            return [(await start(account))["id"] for _ in range(count)]

        sent = dict(zip(("acct-0", "acct-1", "acct-2"),
                        await asyncio.gather(in_turn("acct-0", 7), in_turn("acct-1", 7), in_turn("acct-2", 6)),
                        strict=True))
        done += [await wait_for_status(http, i, {"completed", "failed"}, timeout=60) for ids in sent.values() for i in ids]
        ordered = runs_by_key(receiver, since)
    assert {i["status"] for i in racing} == {"queued"}
    assert [d["status"] for d in done] == ["completed"] * 40
    assert {account: len(ids) for account, ids in raced.items()} == {"acct-0": 7, "acct-1": 7, "acct-2": 6}
    assert {i for ids in raced.values() for i in ids} == {i["id"] for i in racing}
    assert ordered == sent  # arrival order per key


async def test_queued_is_listed_filtered_and_cancelled_before_it_runs(relay):
    _, key = await relay.tenant()
    async with HttpReceiver() as receiver, relay.http(key) as http:
        workflow = await create(http, "queue", [hook("begin", receiver.url), pause(1.5)],
                                {"concurrency": {"limit": 1}})
        first, second, third = [(await http.post(f"/v1/workflows/{workflow['id']}/trigger", json={})).json()["data"]
                                for _ in range(3)]
        await wait_for_status(http, first["id"], {"running"})
        assert (await http.get(f"/v1/instances/{second['id']}")).json()["data"]["status"] == "queued"
        queued = {i["id"]: i["status"] for i in await list_all(http, workflow_id=workflow["id"], status="queued")}
        running = [i["id"] for i in await list_all(http, workflow_id=workflow["id"], status="running")]
        everything = {i["id"]: i["status"] for i in await list_all(http, workflow_id=workflow["id"])}
        dry = await http.post(f"/v1/workflows/{workflow['id']}/test", json={})  # waits in no queue
        cancelled = await http.post(f"/v1/instances/{second['id']}/cancel", json={})
        last = await wait_for_status(http, third["id"], {"completed"}, timeout=30)
        second_now = (await http.get(f"/v1/instances/{second['id']}")).json()["data"]
    assert queued == {second["id"]: "queued", third["id"]: "queued"} and running == [first["id"]]
    assert everything == {first["id"]: "running", second["id"]: "queued", third["id"]: "queued"}
    assert dry.status_code == 200 and dry.json()["data"]["status"] == "completed", dry.text
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["data"]["status"] == "cancelled" and second_now["steps"] == []
    assert last["status"] == "completed"
    assert [r.json()["instance"] for r in receiver.requests] == [first["id"], third["id"]]  # the cancelled never ran


async def test_throttle_admits_at_most_limit_per_period_and_drops_nothing(relay):
    tenant_id, key = await relay.tenant()
    async with HttpReceiver() as receiver, relay.http(key) as http:
        workflow = await create(http, "throttled", [hook("begin", receiver.url)],
                                {"throttle": {"limit": 2, "period": "1s"}, "priority": 2})
        started = await asyncio.gather(*(http.post(f"/v1/workflows/{workflow['id']}/trigger", json={})
                                         for _ in range(6)))
        done = [await wait_for_status(http, r.json()["data"]["id"], {"completed"}, timeout=30) for r in started]
        described = await relay.client.get_workflow_handle(done[0]["temporal"]["workflow_id"]).describe()
    priority = described.raw_description.workflow_execution_info.priority
    assert priority.priority_key == 2 and priority.fairness_key == tenant_id  # flow_control.priority
    assert len(done) == 6 and len(receiver.requests) == 6
    begun = sorted(datetime.fromisoformat(d["steps"][0]["started_at"]).timestamp() for d in done)
    for earlier, later in zip(begun, begun[2:], strict=False):
        assert later - earlier >= 0.75, f"three starts within one period: {begun}"  # (run latency jitters)


async def test_flow_control_is_validated_versioned_and_described(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        refused = await http.post("/v1/workflows", json={"name": "bad", "flowControl": {
            "debounce": {"period": "1s"}, "batch": {"max_size": 2, "timeout": "1s"}}})
        total = (await http.get("/v1/workflows")).json()["meta"]["total"]
        workflow = await create(http, "versions", [pause(0)], {"priority": 1})
        patched = await http.patch(f"/v1/workflows/{workflow['id']}", json={"flow_control": {
            "throttle": {"limit": 3, "period": "2s", "key": "{{trigger.entity_id}}"}}})
        bad_patch = await http.patch(f"/v1/workflows/{workflow['id']}", json={"flow_control": {"priority": 9}})
        versions = (await http.get(f"/v1/workflows/{workflow['id']}/versions")).json()["data"]
        schema = (await http.get("/openapi.json")).json()["components"]["schemas"]
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "validation_error"
    paths = {d["path"] for d in refused.json()["error"]["details"]}
    assert paths == {"flowControl.batch"}, paths
    assert total == 0
    assert workflow["flow_control"]["priority"] == 1
    assert patched.status_code == 200, patched.text
    assert patched.json()["data"]["flow_control"]["throttle"] == {"limit": 3, "period": "2s",
                                                                  "key": "{{trigger.entity_id}}"}
    assert bad_patch.status_code == 400 and bad_patch.json()["error"]["details"][0]["path"] == "flow_control.priority"
    assert [v["definition"]["flow_control"]["priority"] for v in sorted(versions, key=lambda v: v["version_number"])] \
        == [1, 3]
    assert "FlowControl" in schema and "ThrottleControl" in schema


async def test_debounce_collapses_a_burst_into_one_run_with_the_last_trigger(relay):
    """Every start of a burst answers the same instance; the run starts `period` after the last
    start with its trigger, or `max_wait` after the first; the breaker counts the run, not the starts."""
    _, key = await relay.tenant()
    flow = {"debounce": {"period": "600ms", "max_wait": "1500ms", "key": "{{trigger.data.who}}"}}
    async with HttpReceiver() as receiver, relay.http(key) as http:
        counted = (await http.post("/v1/workflows", json={
            "name": "debounced", "max_triggers_per_day": 2, "flow_control": flow,
            "workflow_blocks": [hook("begin", receiver.url, n="{{trigger.data.n}}")]})).json()["data"]
        steady_wf = await create(http, "steady", [hook("begin", receiver.url, n="{{trigger.data.n}}")], flow)

        async def start(workflow: dict, n: int, who: str = "ann") -> dict:
            answer = await http.post(f"/v1/workflows/{workflow['id']}/trigger", json={"data": {"n": n, "who": who}})
            assert answer.status_code == 201, answer.text  # 6 starts, 2 runs: the breaker (2/day) holds
            return answer.json()["data"]

        burst = []
        for n in range(5):  # a burst: 5 starts 0.1 s apart, all one instance
            burst.append(await start(counted, n))
            await asyncio.sleep(0.1)
        other = await start(counted, 99, who="bob")  # another key: its own run
        steady = []
        for n in range(10, 19):  # a start every 0.25 s for 2.25 s: max_wait (1.5 s) cuts it
            steady.append(await start(steady_wf, n, who="cy"))
            await asyncio.sleep(0.25)
        runs = {i["id"] for i in burst + steady + [other]}
        done = {i: await wait_for_status(http, i, {"completed"}, timeout=20) for i in runs}
        breaker = (await http.get(f"/v1/workflows/{counted['id']}")).json()["data"]
    assert {i["id"] for i in burst} == {burst[0]["id"]} and {i["status"] for i in burst} == {"queued"}
    assert breaker["enabled"] is True
    first = done[burst[0]["id"]]
    assert first["trigger"]["data"] == {"n": 4, "who": "ann"}  # the last start's trigger
    waited = (datetime.fromisoformat(first["steps"][0]["started_at"])
              - datetime.fromisoformat(first["started_at"])).total_seconds()
    assert waited >= 0.4 + 0.6  # four more starts 0.1 s apart, then the period
    steady_ids = [i["id"] for i in steady]
    assert 2 <= len(set(steady_ids)) <= 4, steady_ids  # without max_wait: one run
    cut = done[steady_ids[0]]
    assert (datetime.fromisoformat(cut["steps"][0]["started_at"])
            - datetime.fromisoformat(cut["started_at"])).total_seconds() < 1.5 + 0.6
    assert sorted(int(r.json()["n"]) for r in receiver.requests) == sorted(
        done[i]["trigger"]["data"]["n"] for i in runs)  # one run per burst, each with its last start's data
    assert len(receiver.requests) == len(runs)


async def test_batch_collects_starts_into_one_run_with_their_events(relay):
    _, key = await relay.tenant()
    async with HttpReceiver() as receiver, relay.http(key) as http:
        workflow = await create(http, "batched", [hook("begin", receiver.url, size="{{trigger.events}}")],
                                {"batch": {"max_size": 3, "timeout": "800ms"}})
        answers = []
        for n in range(7):
            answer = await http.post(f"/v1/workflows/{workflow['id']}/trigger", json={"data": {"n": n}})
            assert answer.status_code == 201, answer.text
            answers.append(answer.json()["data"])
        ids = [a["id"] for a in answers]
        done = {i: await wait_for_status(http, i, {"completed"}, timeout=20) for i in dict.fromkeys(ids)}
    assert ids[0:3] == [ids[0]] * 3 and ids[3:6] == [ids[3]] * 3 and len({ids[0], ids[3], ids[6]}) == 3
    full, last = done[ids[0]], done[ids[6]]
    assert [e["data"] for e in full["trigger"]["events"]] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert full["trigger"]["data"] == {"n": 2}
    assert [e["data"] for e in last["trigger"]["events"]] == [{"n": 6}]
    waited = (datetime.fromisoformat(last["steps"][0]["started_at"])
              - datetime.fromisoformat(last["started_at"])).total_seconds()
    assert waited >= 0.7  # alone: it went at the timeout
    assert len(receiver.requests) == 3


async def test_a_debounced_instance_cancelled_while_it_waits_never_runs(relay):
    _, key = await relay.tenant()
    async with HttpReceiver() as receiver, relay.http(key) as http:
        workflow = await create(http, "cancel burst", [hook("begin", receiver.url)], {"debounce": {"period": "1s"}})
        first = (await http.post(f"/v1/workflows/{workflow['id']}/trigger", json={})).json()["data"]
        cancelled = await http.post(f"/v1/instances/{first['id']}/cancel", json={})
        later = (await http.post(f"/v1/workflows/{workflow['id']}/trigger", json={})).json()["data"]
        done = await wait_for_status(http, later["id"], {"completed"}, timeout=20)
    assert cancelled.json()["data"]["status"] == "cancelled", cancelled.text
    assert later["id"] != first["id"]  # the next start opens a new burst, it does not join a cancelled one
    assert [r.json()["instance"] for r in receiver.requests] == [done["id"]]


async def test_a_run_cancelled_in_a_throttle_queue_does_not_use_its_window(relay):
    """Cancelled while queued behind a throttle, a run left the gate's queue only for concurrency: the
    gate later admitted it anyway and counted it, so the next start waited a whole period more."""
    _, key = await relay.tenant()
    async with HttpReceiver() as receiver, relay.http(key) as http:
        workflow = await create(http, "throttled cancel", [hook("begin", receiver.url)],
                                {"throttle": {"limit": 1, "period": "3s"}})
        trigger = f"/v1/workflows/{workflow['id']}/trigger"
        first = (await http.post(trigger, json={})).json()["data"]
        await wait_for_status(http, first["id"], {"completed"}, timeout=30)
        second = (await http.post(trigger, json={})).json()["data"]
        third = (await http.post(trigger, json={})).json()["data"]
        cancelled = await http.post(f"/v1/instances/{second['id']}/cancel", json={})
        last = await wait_for_status(http, third["id"], {"completed"}, timeout=30)
        done = await wait_for_status(http, first["id"], {"completed"})
    assert cancelled.status_code == 200, cancelled.text
    began = [datetime.fromisoformat(run["steps"][0]["started_at"]).timestamp() for run in (done, last)]
    assert began[1] - began[0] < 5.0, began  # the next window (3 s), not the one after (6 s)
    assert [r.json()["instance"] for r in receiver.requests] == [first["id"], third["id"]]
