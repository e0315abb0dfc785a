"""The README's two commands without `make`: `python3.11 scripts/run.py dev|test [args…]`.

Creates .venv and installs the project with its pinned dependencies (as `make install`),
builds the console (console/, as `make console`: npm ci, the typed client, vite), then runs
`relay dev` or the test suite (as `make dev` / `make test`, whose tests start with the console's
Vitest). Standard library only.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"
BIN = VENV / "bin"
STAMP = VENV / ".installed"


def install() -> None:
    inputs = [ROOT / "pyproject.toml", ROOT / "requirements.lock"]
    if STAMP.exists() and all(STAMP.stat().st_mtime >= p.stat().st_mtime for p in inputs):
        return
    if not (BIN / "python").exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    pip = [str(BIN / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True, cwd=ROOT)
    subprocess.run([*pip, "-c", "requirements.lock", "-e", ".[dev]"], check=True, cwd=ROOT)
    STAMP.touch()


def build_console() -> None:
    """npm ci and the build, skipped when console/dist/.built is newer than every source."""
    console, stamp = ROOT / "console", ROOT / "console" / "dist" / ".built"
    sources = [p for d in ("console/src", "app", "workflows") for p in (ROOT / d).rglob("*")
               if p.is_file() and p.suffix in {".ts", ".tsx", ".css", ".py", ".json"} and p.name != "schema.d.ts"]
    sources += [console / n for n in ("index.html", "package.json", "package-lock.json", "tsconfig.json",
                                      "vite.config.ts")]
    if stamp.exists() and all(stamp.stat().st_mtime >= p.stat().st_mtime for p in sources):
        return
    lock, installed = console / "package-lock.json", console / "node_modules" / ".package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], check=True, cwd=console)
    subprocess.run([str(BIN / "python"), "scripts/openapi.py", "console/openapi.json"], check=True, cwd=ROOT)
    subprocess.run(["npm", "run", "--silent", "build"], check=True, cwd=console)
    stamp.touch()


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in ("dev", "test", "install"):
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 2
    install()
    command, args = sys.argv[1], sys.argv[2:]
    if command == "install":
        return 0
    build_console()
    if command == "dev":
        argv = [str(BIN / "relay"), "dev", *args]
    else:
        subprocess.run(["npm", "test", "--silent"], check=True, cwd=ROOT / "console")
        argv = [str(BIN / "python"), "-m", "pytest", "-n", "2", *args]
    os.chdir(ROOT)
    os.execv(argv[0], argv)


if __name__ == "__main__":
    sys.exit(main())
