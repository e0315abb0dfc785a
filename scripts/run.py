"""The README's two commands without `make`: `python3.11 scripts/run.py dev|test [args…]`.

Creates .venv and installs the project with its pinned dependencies (as `make install`),
then runs `relay dev` or the test suite (as `make dev` / `make test`). Standard library only.
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


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in ("dev", "test", "install"):
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 2
    install()
    command, args = sys.argv[1], sys.argv[2:]
    if command == "install":
        return 0
    if command == "dev":
        argv = [str(BIN / "relay"), "dev", *args]
    else:
        argv = [str(BIN / "python"), "-m", "pytest", "-n", "2", *args]
    os.chdir(ROOT)
    os.execv(argv[0], argv)


if __name__ == "__main__":
    sys.exit(main())
