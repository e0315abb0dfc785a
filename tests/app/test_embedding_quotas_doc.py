"""docs/embedding-quotas.md's curl examples run as written (SPEC §3.3 quotas, the audit log)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "embedding-quotas.md"
EXPECTED = [
    {"max_running_instances": 1, "max_runs_per_day": 100, "max_workflows": 1},
    {"code": "quota_exceeded", "details": [{"quota": "max_running_instances", "limit": 1}]},
    "429", "cancelled", "201",
    [["instance.cancelled", "platform"], ["workflow.created", "platform"], ["tenant.updated", "platform"]],
]


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="needs curl and jq")
async def test_the_quota_examples_run_as_written(relay):
    blocks = re.findall(r"^```sh\n(.*?)^```", DOC.read_text(), flags=re.S | re.M)
    script = "set -euo pipefail\n" + "\n".join(blocks)
    env = {**os.environ, "RELAY": relay.url, "PLATFORM_KEY": await relay.platform_key("docs-quotas")}
    process = await asyncio.create_subprocess_exec("bash", "-c", script, env=env, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, (out.decode(), err.decode())
    lines = out.decode().splitlines()
    assert len(lines) == len(EXPECTED), lines
    for line, expected in zip(lines, EXPECTED):
        assert (json.loads(line) if isinstance(expected, (dict, list)) else line) == expected, line
