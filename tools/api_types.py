"""The web app's API types, generated from the OpenAPI document the app serves.

``python tools/api_types.py``          rewrite frontend/src/lib/api-types.ts
``python tools/api_types.py --check``  exit 1 when the committed file differs

The document is read from a real ``GET /openapi.json`` (Chalice's test client, no
network), so the types describe exactly what the backend serves.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FRONTEND = ROOT / "frontend"
TYPES = FRONTEND / "src" / "lib" / "api-types.ts"
GENERATOR = FRONTEND / "node_modules" / ".bin" / "openapi-typescript"


def served_document() -> dict[str, object]:
    """What ``GET /openapi.json`` answers."""
    sys.path.insert(0, str(ROOT))
    from chalice.test import Client

    import app

    with Client(app.app) as client:
        response = client.http.get("/openapi.json")
    if response.status_code != 200:
        raise SystemExit(f"GET /openapi.json answered {response.status_code}")
    document: dict[str, object] = json.loads(response.body)
    return document


def generate(document: dict[str, object]) -> str:
    """openapi-typescript's output for the document, as text."""
    if not GENERATOR.exists():
        raise SystemExit(f"{GENERATOR} is missing: run `npm ci` in frontend/ (make web-install)")
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp, "openapi.json")
        source.write_text(json.dumps(document, indent=2))
        target = Path(tmp, "api-types.ts")
        subprocess.run(
            [str(GENERATOR), str(source), "--default-non-nullable=false", "--output", str(target)],
            check=True,
            cwd=FRONTEND,
            capture_output=True,
        )
        return target.read_text()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    text = generate(served_document())
    if args.check:
        if not TYPES.exists() or TYPES.read_text() != text:
            print(
                f"{TYPES.relative_to(ROOT)} differs from the served /openapi.json: "
                "run `make api-types` and commit the result",
                file=sys.stderr,
            )
            return 1
        return 0
    TYPES.write_text(text)
    print(f"wrote {TYPES.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
