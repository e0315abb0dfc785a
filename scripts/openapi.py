"""Writes Relay's /openapi.json from the app itself, no server needed: `python scripts/openapi.py OUT`.

The console's typed client (console/src/api/schema.d.ts) is generated from it at build time, so a
change of the API that breaks the console breaks its build.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.config import Settings
from app.main import create_app


def main(out: str) -> None:
    app = create_app(Settings(env="test", database_url="sqlite://", temporal_address="127.0.0.1:9"))
    text = json.dumps(app.openapi(), indent=1, sort_keys=True)
    target = Path(out)
    if not target.exists() or target.read_text() != text:  # unchanged: keep the time stamp, skip the rebuild
        target.write_text(text)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "console/openapi.json")
