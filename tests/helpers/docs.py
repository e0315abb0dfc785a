"""Running a document's `sh` blocks as written: every block, in order, in one bash, against a live Relay."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"


def sh_blocks(text: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", text, flags=re.S | re.M)


async def run_sh_blocks(doc: str, env: dict[str, str], timeout: float = 60) -> list[str]:
    """The lines the blocks of `docs/<doc>` print (they fail the test if any command fails). Needs curl
    and jq: skipped without them on a laptop, a failure in CI (CI=true), which must run it."""
    if not (shutil.which("curl") and shutil.which("jq")):
        if os.environ.get("CI"):
            pytest.fail("curl and jq are needed to run the documents' examples (.ci/run installs jq)")
        pytest.skip("needs curl and jq")
    script = "set -euo pipefail\n" + "\n".join(sh_blocks((DOCS / doc).read_text()))
    process = await asyncio.create_subprocess_exec("bash", "-c", script, env={**os.environ, **env},
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=timeout)
    assert process.returncode == 0, (out.decode(), err.decode())
    return out.decode().splitlines()
