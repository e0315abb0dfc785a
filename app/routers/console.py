"""The web console (SPEC §3.5) at /console: the static files that `make` builds from console/.

Every path under /console that is not a built asset answers the single page's index.html, so each
view has a URL of its own (`/console/workflows/{id}`, `/console/instances/{id}`, …) that can be
shared and opened directly. Assets carry a content hash in their names and are cached for a year;
index.html is never cached, so a new build is picked up at once. The page asks for a key itself:
nothing here needs one.
"""

from __future__ import annotations

import sys
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response


def _dist() -> Path:
    """console/dist beside the sources (make dev), or <prefix>/console/dist (the Docker image installs it there)."""
    beside = Path(__file__).resolve().parents[2] / "console" / "dist"
    installed = Path(sys.prefix) / "console" / "dist"
    return installed if not (beside / "index.html").is_file() and (installed / "index.html").is_file() else beside


ASSET_CACHE = "public, max-age=31536000, immutable"
PAGE_HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
NOT_BUILT = """<!doctype html><meta charset="utf-8"><title>Relay console</title>
<p>The console is not built. Run <code>make dev</code> (or <code>make console</code>) in the Relay directory.</p>"""

router = APIRouter(include_in_schema=False)


def _page(dist: Path) -> Response:
    index = dist / "index.html"
    if not index.is_file():
        return HTMLResponse(NOT_BUILT, status_code=503, headers=PAGE_HEADERS)
    return FileResponse(index, media_type="text/html", headers=PAGE_HEADERS)


def _asset(dist: Path, path: str) -> Response | None:
    """The built file at `path` under dist/, or None (never a file outside it)."""
    root = dist.resolve()
    target = (root / path).resolve()
    if not path or root not in target.parents or not target.is_file() or target.name == "index.html":
        return None
    cache = ASSET_CACHE if target.parent.name == "assets" else "public, max-age=3600"
    return FileResponse(target, headers={"Cache-Control": cache, "X-Content-Type-Options": "nosniff"})


@router.get("/console")
async def console_root() -> Response:
    return RedirectResponse("/console/", status_code=308)


@router.get("/console/{path:path}")
async def console(path: str) -> Response:
    dist = _dist()  # looked for on each request: a console built after the API started is served at once
    return _asset(dist, path) or _page(dist)
