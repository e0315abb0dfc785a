"""docs/embedding.md's curl examples run as written (SPEC §3.3, issue 16): every `sh` block, in
order, in one bash with RELAY and PLATFORM_KEY set, against the real API and Temporal."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "embedding.md"
EXPECTED = [
    re.compile(r"ten_[0-9a-f]{32}"), "Acme Corp",
    {"max_running_instances": 20, "max_runs_per_day": 10000, "max_workflows": 50},
    "Welcome new deals", "1", "400",
    {"scopes": ["read:instances", "read:workflows"], "subject": "user-42"},
    "Welcome new deals", "403", "true", "401", "true", "true",
]


def sh_blocks(text: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", text, flags=re.S | re.M)


def test_the_doc_has_its_examples():
    blocks = sh_blocks(DOC.read_text())
    assert len(blocks) >= 7 and all("curl" in block for block in blocks)


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="needs curl and jq")
async def test_the_curl_examples_run_as_written(relay):
    script = "set -euo pipefail\n" + "\n".join(sh_blocks(DOC.read_text()))
    env = {**os.environ, "RELAY": relay.url, "PLATFORM_KEY": await relay.platform_key("docs")}
    process = await asyncio.create_subprocess_exec("bash", "-c", script, env=env, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, (out.decode(), err.decode())
    lines = out.decode().splitlines()
    assert len(lines) == len(EXPECTED), lines
    for line, expected in zip(lines, EXPECTED):
        if isinstance(expected, re.Pattern):
            assert expected.fullmatch(line), line
        elif isinstance(expected, dict):
            assert json.loads(line) == expected, line
        else:
            assert line == expected, (line, expected)
