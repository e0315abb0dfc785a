"""docs/embedding.md's curl examples run as written (SPEC §3.3, issue 16): every `sh` block, in
order, in one bash with RELAY and PLATFORM_KEY set, against the real API and Temporal."""

from __future__ import annotations

import json
import re

from tests.helpers.docs import DOCS, run_sh_blocks, sh_blocks

DOC = DOCS / "embedding.md"
EXPECTED = [
    re.compile(r"ten_[0-9a-f]{32}"), "Acme Corp",
    {"max_running_instances": 20, "max_runs_per_day": 10000, "max_workflows": 50},
    "Welcome new deals", "1", "400",
    {"scopes": ["read:instances", "read:workflows"], "subject": "user-42"},
    "Welcome new deals", "403", "true", "401", "true", "true",
]


def test_the_doc_has_its_examples():
    blocks = sh_blocks(DOC.read_text())
    assert len(blocks) >= 7 and all("curl" in block for block in blocks)


async def test_the_curl_examples_run_as_written(relay):
    lines = await run_sh_blocks("embedding.md", {"RELAY": relay.url, "PLATFORM_KEY": await relay.platform_key("docs")})
    assert len(lines) == len(EXPECTED), lines
    for line, expected in zip(lines, EXPECTED, strict=True):
        if isinstance(expected, re.Pattern):
            assert expected.fullmatch(line), line
        elif isinstance(expected, dict):
            assert json.loads(line) == expected, line
        else:
            assert line == expected, (line, expected)
