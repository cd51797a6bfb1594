"""What a hostile body costs: 450,000 unknown keys (5 MB) against a small invalid one.

    python -m bench.errors            (make bench)

Requests go through Chalice's test client into the real app (routing, the
middleware, the one error map), anonymously, as an attacker would send them.
Each line prints the median wall and CPU time (CPU is steadier on a shared
machine), the size of the 422, and the CPU time as a multiple of the small
body's. Before the bound, the wide body took 4-5 s and answered 32 MB; now the
parser refuses it, and what is left is parsing 5 MB of JSON: about 0.4 s of CPU
on this project's build machine, nearly all of it in json.loads, the floor for
any body of that size and shape.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time

ROUNDS = 7


def main() -> None:
    import argon2
    from chalice.test import Client

    from chalicelib.composition import Clients, create_app
    from chalicelib.settings import Settings

    settings = Settings.from_env({"DATA_DIR": tempfile.mkdtemp(prefix="snapboard-bench-")})
    hasher = argon2.PasswordHasher.from_parameters(argon2.profiles.CHEAPEST)
    http = Client(create_app(Clients(settings, password_hasher=hasher))).http
    headers = {"Content-Type": "application/json"}
    wide = json.dumps({f"k{i}": 1 for i in range(450_000)}, separators=(",", ":"))
    small = json.dumps({"email": "not an email"})
    baseline = 0.0
    for label, body in (("small invalid body", small), ("450,000 unknown keys, 5 MB", wide)):
        timings, cpu, size = [], [], 0
        for _ in range(ROUNDS):
            started, started_cpu = time.perf_counter(), time.process_time()
            reply = http.post("/auth/register", body=body, headers=headers)
            timings.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
            assert reply.status_code == 422, reply.status_code
            size = len(reply.body)
        p50, cpu50 = statistics.median(timings), statistics.median(cpu)
        baseline = baseline or cpu50
        print(
            f"{label:<28} p50 {p50 * 1000:8.1f} ms ({cpu50 * 1000:7.1f} ms CPU)  "
            f"answer {size:>5} bytes  {cpu50 / baseline:6.0f}x the small body's CPU"
        )


if __name__ == "__main__":
    main()
