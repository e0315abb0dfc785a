"""/console serves the built single page (app/routers/console.py): every view's URL answers index.html,
hashed assets are cached for a year, nothing outside the build is served, and an unbuilt console says so."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from app.routers import console


@pytest.fixture
def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    dist = tmp_path / "console" / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><div id=root></div>")
    (dist / "assets" / "index-abc123.js").write_text("console.log(1)")
    (tmp_path / "secret.txt").write_text("not for the web")
    monkeypatch.setattr(console, "_dist", lambda: dist)
    return dist


def client() -> httpx.AsyncClient:
    app = FastAPI()
    app.include_router(console.router)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://relay")


async def test_every_view_url_answers_the_page_and_assets_are_cached(built: Path) -> None:
    async with client() as http:
        root = await http.get("/console")
        pages = [await http.get(path) for path in ("/console/", "/console/workflows/wf_1", "/console/instances/inst_1",
                                                   "/console/runs")]
        asset = await http.get("/console/assets/index-abc123.js")
        missing = await http.get("/console/assets/nope.js")
        escapes = [await http.get(path) for path in ("/console/..%2F..%2Fsecret.txt", "/console/%2e%2e/%2e%2e/secret.txt")]
    assert root.status_code == 308 and root.headers["location"] == "/console/"
    for page in pages:
        assert page.status_code == 200 and "id=root" in page.text
        assert page.headers["cache-control"] == "no-cache"
    assert asset.status_code == 200 and asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert missing.status_code == 200 and "id=root" in missing.text  # the page, never a file outside dist
    assert all("not for the web" not in r.text for r in escapes)


async def test_an_unbuilt_console_says_how_to_build_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console, "_dist", lambda: tmp_path / "nothing")
    async with client() as http:
        answer = await http.get("/console/workflows")
    assert answer.status_code == 503 and "make dev" in answer.text
