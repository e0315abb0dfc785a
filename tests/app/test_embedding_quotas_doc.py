"""docs/embedding-quotas.md's curl examples run as written (SPEC §3.3 quotas, the audit log)."""

from __future__ import annotations

import json

from tests.helpers.docs import run_sh_blocks

EXPECTED = [
    {"max_running_instances": 1, "max_runs_per_day": 100, "max_workflows": 1},
    {"code": "quota_exceeded", "details": [{"quota": "max_running_instances", "limit": 1}]},
    "429", "cancelled", "201",
    [["instance.cancelled", "platform"], ["workflow.created", "platform"], ["tenant.updated", "platform"]],
]


async def test_the_quota_examples_run_as_written(relay):
    env = {"RELAY": relay.url, "PLATFORM_KEY": await relay.platform_key("docs-quotas")}
    lines = await run_sh_blocks("embedding-quotas.md", env)
    assert len(lines) == len(EXPECTED), lines
    for line, expected in zip(lines, EXPECTED, strict=True):
        assert (json.loads(line) if isinstance(expected, (dict, list)) else line) == expected, line
