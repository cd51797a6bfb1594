"""chalicelib/lazy.py: libraries that only some requests need are imported by the first of them."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

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
    # Route declarations are named tuples: dataclasses loads inspect, and each frozen
    # dataclass generates its methods (about 25 ms of a cold start together).
    "dataclasses",
    "inspect",
]
# What a first anonymous page of the feed must not load: it checks no password or token,
# parses no upload and decodes no image.
# (cryptography is not among them: pymongo takes it for TLS, through pyOpenSSL.)
# Nor the ImageKit SDK: the feed signs its URLs itself (chalicelib/images/store.py).
FEED_ON_DEMAND = ["jwt", "email_validator", "argon2", "python_multipart", "PIL", "imagekitio"]


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


# ----------------------------------------------- the import contracts see lazy names too


def lazy_names(package: Path) -> dict[str, set[str]]:
    """Each module under ``package`` and the modules it names through ``lazy.module``."""
    found: dict[str, set[str]] = {}
    for path in package.rglob("*.py"):
        parts = path.relative_to(package.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "module"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "lazy"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                found.setdefault(module, set()).add(str(node.args[0].value))
    return found


def _covers(pattern: str, module: str) -> bool:
    return module == pattern or module.startswith(pattern + ".") or fnmatch(module, pattern)


def broken_contracts(names: dict[str, set[str]], contracts: list[dict[str, Any]]) -> list[str]:
    """What the forbidden and protected import contracts would say of the lazy names."""
    broken = []
    for contract in contracts:
        for importer, named in sorted(names.items()):
            for name in sorted(named):
                if contract["type"] == "forbidden":
                    sources, forbidden = contract["source_modules"], contract["forbidden_modules"]
                    if any(_covers(s, importer) for s in sources) and any(
                        _covers(f, name) for f in forbidden
                    ):
                        broken.append(f"{contract['name']}: {importer} -> {name}")
                elif contract["type"] == "protected":
                    protected, allowed = (
                        contract["protected_modules"],
                        contract["allowed_importers"],
                    )
                    inside = any(_covers(p, importer) for p in protected)
                    if (
                        any(_covers(p, name) for p in protected)
                        and not inside
                        and not any(_covers(a, importer) for a in allowed)
                    ):
                        broken.append(f"{contract['name']}: {importer} -> {name}")
    return broken


def test_no_module_names_through_the_lazy_seam_what_the_import_contracts_forbid() -> None:
    # import-linter reads import statements only; a `lazy.module("imagekitio")` is a string.
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
        "contracts"
    ]
    names = lazy_names(ROOT / "chalicelib")
    assert "imagekitio" in names["chalicelib.images.imagekit"]  # the scan sees the seam
    assert broken_contracts(names, contracts) == []


def test_the_contract_check_of_lazy_names_reports_a_breach() -> None:
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
        "contracts"
    ]
    breaches = broken_contracts(
        {"chalicelib.posts.routes": {"imagekitio"}, "chalicelib.images.service": {"PIL.Image"}},
        contracts,
    )
    assert any("posts.routes -> imagekitio" in b and "Only the ImageKit" in b for b in breaches)
    assert any("images.service -> PIL.Image" in b and "reaches no Pillow" in b for b in breaches)
