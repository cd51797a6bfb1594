"""chalicelib/lazy.py: libraries that only some requests need are imported by the first of them."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.cold_import import HANDLER_PRELUDE, PROD_ENV
from chalicelib import lazy
from tests.conftest import ROOT
from tests.mongowire import ScriptedMongo

# What `import app` and a first /health must not load: each only serves some requests.
ON_DEMAND = [
    "jwt",
    "cryptography",
    "email_validator",
    "argon2",
    "python_multipart",
    "PIL",
    "imagekitio",
    "pymongo",
    "bson",
    "boto3",
    "chalicelib.openapi",
    # Routes name their models; the first request that validates or encodes one loads it.
    "pydantic",
    "pydantic_core",
    "chalicelib.settings",
    # The standard library's costlier modules that only sign-ins, the docs page or the
    # embedded store's keys use (about 20 ms of a cold start together).
    "secrets",
    "hashlib",
    "hmac",
    "uuid",
    "http.cookies",
    "shutil",
    "tempfile",
]
# What a first anonymous page of the feed must not load: it checks no password or token,
# parses no upload and decodes no image.
# (cryptography is not among them: pymongo takes it for TLS, through pyOpenSSL.)
FEED_ON_DEMAND = ["jwt", "email_validator", "argon2", "python_multipart", "PIL"]


@pytest.fixture
def probe_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A module on the path whose import is slow and counted."""
    name = f"lazy_probe_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(
        "import builtins, time\n"
        "builtins.lazy_probe_imports = getattr(builtins, 'lazy_probe_imports', 0) + 1\n"
        "builtins.lazy_probe_started.set()\n"
        "time.sleep(0.05)\n"
        "ANSWER = 42\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr("builtins.lazy_probe_imports", 0, raising=False)
    monkeypatch.setattr("builtins.lazy_probe_started", threading.Event(), raising=False)
    yield name
    sys.modules.pop(name, None)


def test_a_lazy_module_is_imported_at_its_first_attribute_read(probe_module: str) -> None:
    import builtins

    module = lazy.module(probe_module)
    assert probe_module not in sys.modules
    assert module.ANSWER == 42
    assert probe_module in sys.modules
    assert module.ANSWER == 42
    assert builtins.lazy_probe_imports == 1  # type: ignore[attr-defined]


def test_threads_racing_for_a_first_use_import_it_once_and_see_it_whole(
    probe_module: str,
) -> None:
    import builtins

    module = lazy.module(probe_module)
    seen: list[object] = []
    errors: list[BaseException] = []

    def use() -> None:
        try:
            seen.append(module.ANSWER)
        except BaseException as error:  # the assertion below reports it
            errors.append(error)

    first = threading.Thread(target=use)
    first.start()
    # The others arrive while the first is inside the import: the module is already in
    # sys.modules then, but not whole.
    assert builtins.lazy_probe_started.wait(5)  # type: ignore[attr-defined]
    threads = [first, *(threading.Thread(target=use) for _ in range(7))]
    for thread in threads[1:]:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert seen == [42] * 8
    assert builtins.lazy_probe_imports == 1  # type: ignore[attr-defined]


def test_a_missing_attribute_is_an_attribute_error_of_the_real_module(probe_module: str) -> None:
    with pytest.raises(AttributeError, match="QUESTION"):
        _ = lazy.module(probe_module).QUESTION


def test_the_app_answers_a_first_health_without_the_libraries_of_other_requests() -> None:
    # A fresh interpreter: this test process has long imported everything.
    probe = f"""
import sys
before = set(sys.modules)  # what site (the virtualenv's .pth files) loaded
{HANDLER_PRELUDE}
import json
import app
imported = set(sys.modules)
answer = app.app(event("/health"), LambdaContext())
print(json.dumps({{
    "status": answer["statusCode"],
    "loaded": [m for m in {ON_DEMAND!r} if m in sys.modules and m not in before],
    "features": sorted(
        m for m in sys.modules
        if m.startswith("chalicelib.") and m.rpartition(".")[2] in ("models", "service")
    ),
    "loaded_by_the_request": sorted(set(sys.modules) - imported),
}}))
"""
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DATA_DIR": "/nonexistent"},
        capture_output=True,
        text=True,
        check=True,
    )
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["status"] == 200
    assert seen["loaded"] == []
    # No feature's models (pydantic classes) or service: routes name their models.
    assert seen["features"] == []
    # The answer itself imports nothing: everything it needs came with the app.
    assert seen["loaded_by_the_request"] == []


def test_a_first_anonymous_feed_loads_neither_pillow_nor_the_account_libraries() -> None:
    # Production's settings (the ImageKit store) against a local MongoDB stand-in.
    mongo = ScriptedMongo().start()
    try:
        probe = f"""
import sys
before = set(sys.modules)
{HANDLER_PRELUDE}
import json
import app
answer = app.app(event("/posts"), LambdaContext())
print(json.dumps({{
    "status": answer["statusCode"],
    "loaded": [m for m in {FEED_ON_DEMAND!r} if m in sys.modules and m not in before],
}}))
"""
        result = subprocess.run(
            [sys.executable, "-c", probe],
            cwd=ROOT,
            env={"PATH": "/usr/bin:/bin", **PROD_ENV, "MONGODB_URI": mongo.uri},
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        mongo.stop()
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["status"] == 200
    assert seen["loaded"] == []
