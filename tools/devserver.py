"""`make run`: load the demo data into the embedded database, then `chalice local`.

The embedded database lives inside this process, so the data set has to be
loaded here, before Chalice's development server starts in the same process
(`chalice local` imports app.py, which uses the services built below).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", default=os.environ.get("PORT", "8000"))
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    from chalicelib import demo, services

    current = services.current()
    if current.settings.uses_embedded_mongo:
        print("Loading the demo data set into the embedded database…", flush=True)
        seeded = demo.seed(current)
        print(
            f"  {seeded.users} people, {seeded.posts} posts, {seeded.images} images; "
            f"sign in as ann@demo.snapboard.test / {demo.DEMO_PASSWORD}",
            flush=True,
        )
    from chalice.cli import main as chalice

    sys.argv = [
        "chalice",
        "local",
        "--host",
        args.host,
        "--port",
        str(args.port),
        "--stage",
        "dev",
        "--no-autoreload",
    ]
    return int(chalice() or 0)


if __name__ == "__main__":
    sys.exit(main())
