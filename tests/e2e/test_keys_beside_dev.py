"""`relay keys create`, run beside `relay dev` as the README says: no RELAY_SECRET_KEY, no
RELAY_DATABASE_URL; it finds the dev database (.relay, or --data-dir) and the key works at once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from app.devserver import free_port
from tests.helpers.relay import wait_healthy

RELAY = str(Path(sys.executable).parent / "relay")


def keys_create(cwd: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([RELAY, "keys", "create", "--tenant", "acme", "--scope", "admin", *extra], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=60)


async def test_keys_create_beside_relay_dev_needs_no_settings(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    before = keys_create(elsewhere, env)  # no relay dev here: one line saying what to do
    port, temporal_port, ui_port = free_port(), free_port(), free_port()
    process = await asyncio.create_subprocess_exec(
        RELAY, "dev", "--port", str(port), "--temporal-port", str(temporal_port), "--ui-port", str(ui_port),
        cwd=tmp_path, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            await wait_healthy(http, process)
            beside = await asyncio.to_thread(keys_create, tmp_path, env)
            with_dir = await asyncio.to_thread(keys_create, elsewhere, env, "--data-dir", str(tmp_path / ".relay"))
            keys = [result.stdout.strip().splitlines()[-1] for result in (beside, with_dir) if result.returncode == 0]
            answers = [(await http.get("/v1/workflows", headers={"Authorization": f"Bearer {key}"})).status_code
                       for key in keys]
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout=30)
        except TimeoutError:
            process.kill()
            await process.wait()

    assert before.returncode != 0 and before.stdout == ""
    [line] = before.stderr.strip().splitlines()
    assert ".relay/relay.db" in line and "--data-dir" in line and "RELAY_DATABASE_URL" in line
    assert beside.returncode == 0, beside.stderr
    assert with_dir.returncode == 0, with_dir.stderr
    assert all(key.startswith("rly_") for key in keys) and answers == [200, 200]
