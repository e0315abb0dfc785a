"""The console's browser tests: one real `relay dev` (with the console built by `make`) and one
Chromium (Debian's, /usr/bin/chromium) shared by the package's modules (per xdist worker), real HTTP
and SMTP receivers, free ports."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.devserver import free_port
from tests.helpers.relay import wait_healthy
from tests.receivers import HttpReceiver, SmtpReceiver

ROOT = Path(__file__).resolve().parents[2]
RELAY = str(Path(sys.executable).parent / "relay")
CHROMIUM = os.environ.get("RELAY_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = ROOT / "docs" / "console"


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@dataclass
class Dev:
    """A running `relay dev`: its URL, data dir, the dev tenant's admin key, and the receivers it reaches."""

    url: str
    data_dir: Path
    key: str
    receiver: HttpReceiver
    smtp: SmtpReceiver

    def http(self, key: str | None = None) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers={"Authorization": f"Bearer {key or self.key}"}, timeout=30)

    async def run_until(self, instance_id: str, statuses: set[str], tries: int = 300) -> dict[str, Any]:
        async with self.http() as http:
            for _ in range(tries):
                detail = (await http.get(f"/v1/instances/{instance_id}")).json()["data"]
                if detail["status"] in statuses:
                    return detail
                await asyncio.sleep(0.1)
        raise AssertionError(f"{instance_id} stayed {detail['status']}")


@pytest.fixture(scope="package")
async def dev(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Dev]:
    if not (ROOT / "console" / "dist" / "index.html").exists():
        _skip_or_fail("the console is not built: `make console` (make test builds it first)")
    data_dir = tmp_path_factory.mktemp("console") / "relay"
    port, temporal_port, ui_port = free_port(), free_port(), free_port()
    async with HttpReceiver() as receiver, SmtpReceiver() as smtp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
        env.update(RELAY_SMTP_HOST="127.0.0.1", RELAY_SMTP_PORT=str(smtp.port), RELAY_LOG_LEVEL="WARNING")
        process = await asyncio.create_subprocess_exec(
            RELAY, "dev", "--port", str(port), "--temporal-port", str(temporal_port), "--ui-port", str(ui_port),
            "--data-dir", str(data_dir), env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient(base_url=url, timeout=10) as http:
                await wait_healthy(http, process)
            yield Dev(url=url, data_dir=data_dir, key=(data_dir / "dev-key").read_text().strip(),
                      receiver=receiver, smtp=smtp)
        finally:
            if process.returncode is None:
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), timeout=30)
                except TimeoutError:
                    process.kill()
                    await process.wait()


@pytest.fixture(scope="package")
async def browser() -> AsyncIterator[Any]:
    executable = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if executable is None:
        _skip_or_fail(f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)")
    from playwright.async_api import async_playwright, expect

    expect.set_options(timeout=15_000)  # a shared, loaded machine: waits end as soon as the page is right

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


@pytest.fixture
async def page(browser: Any) -> AsyncIterator[Any]:
    """A fresh browser tab (its own sessionStorage) at a desktop size."""
    context = await browser.new_context(viewport={"width": 1440, "height": 900})
    tab = await context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    await context.close()


async def signed_in(page: Any, dev: Dev, path: str = "/console/workflows", key: str | None = None) -> None:
    """Opens `path` signed in as the embedding page does it: the key in the URL fragment."""
    await page.goto(f"{dev.url}{path}#token={key or dev.key}")


async def shoot(page: Any, name: str) -> None:
    """A screenshot of the page. The README's (docs/console/<name>.png) are written when missing or with
    RELAY_CONSOLE_SCREENSHOTS=1, so a test run does not rewrite committed files; else to a temp dir."""
    target = SCREENSHOTS / f"{name}.png"
    if target.exists() and not os.environ.get("RELAY_CONSOLE_SCREENSHOTS"):
        target = Path(tempfile.gettempdir()) / "relay-console-screenshots" / f"{name}.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    await page.wait_for_timeout(150)
    await page.screenshot(path=str(target))
