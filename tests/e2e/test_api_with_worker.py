"""`relay api --with-worker` (issue #19): a worker in the API process, sharing its Temporal client, runs
the runs the API starts; the start asks for eager dispatch, which an ordinary API process ignores."""

from __future__ import annotations

import contextlib

from tests.helpers.relay import relay_settings, sqlite_url, start_relay
from tests.helpers.runs import wait_for_status
from tests.receivers import HttpReceiver


async def test_the_api_process_runs_what_it_triggers_with_no_other_worker(temporal_env, tmp_path):
    from temporalio.client import Client

    settings = relay_settings(sqlite_url(tmp_path), temporal_env, api_with_worker=True)
    # a client of its own: no worker of the session's client polls this task queue
    client = await Client.connect(settings.temporal_address, data_converter=temporal_env.client.data_converter)
    async with contextlib.aclosing(start_relay(settings, client, with_worker=False)) as running:
        relay = await anext(running)
        _, key = await relay.tenant()
        async with HttpReceiver() as receiver, relay.http(key) as http:
            workflow = (await http.post("/v1/workflows", json={"name": "colocated", "workflow_blocks": [
                {"$kind": "Action", "id": "call", "type": "webhook",
                 "input": {"url": f"{receiver.url}/hook", "body": {"n": "{{trigger.data.n}}"}}}]})).json()["data"]
            started = await http.post(f"/v1/workflows/{workflow['id']}/trigger", json={"data": {"n": 7}})
            assert started.status_code == 201, started.text
            done = await wait_for_status(http, started.json()["data"]["id"], {"completed", "failed"})
        assert done["status"] == "completed", done
        assert [r.json() for r in receiver.requests] == [{"n": 7}]
