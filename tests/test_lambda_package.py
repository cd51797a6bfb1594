"""`chalice package --stage prod`: what ships to Lambda, checked on the artifact itself.

`make package` builds build/ once and runs these tests on it
(``--lambda-package build``), in CI and before each deploy; a plain pytest run
skips them rather than build a second package of its own.
"""

from __future__ import annotations

import base64
import datetime as dt
import importlib.util
import json
import marshal
import re
import subprocess
import sys
import threading
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from bson import ObjectId
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection

from bench.cold_import import HANDLER_PRELUDE, PROD_ENV
from chalicelib.auth.tokens import issue_access_token
from tests.conftest import ROOT
from tests.images.conftest import URL_ENDPOINT, FakeImageKit, assert_clean_and_upright, phone_photo
from tests.mongowire import ScriptedMongo
from tests.test_lazy import ON_DEMAND

# Lambda takes 50 MB zipped; this budget is ours (every byte is unzipped at a cold start).
# No Pillow (ImageKit decodes; its wheel and codecs were 8.5 MB of the zip), no cffi or
# pycparser (tools/compile_package.py, DROPPED); the bytecode of every module adds 4.3 MB.
MAX_ZIP_BYTES = 10_000_000
# The local image store's Pillow is a dev dependency: nothing of it may ship.
IMAGE_DECODERS = {"PIL", "pillow", "pillow.libs"}
# Top-level names in the zip that would mean a test or dev tool was bundled, or
# an SDK that the Lambda runtime already provides.
FORBIDDEN = {
    "pytest",
    "_pytest",
    "pluggy",
    "mongomock",
    "moto",
    "responses",
    "ruff",
    "mypy",
    "openapi_spec_validator",
    "cfnlint",
    "check_jsonschema",
    "zizmor",
    "boto3",
    "botocore",
    "s3transfer",
    "tests",
}
# chalice's runtime is two modules; its CLI, deployer and packager stay out.
CHALICE_RUNTIME = {"chalice/__init__.py", "chalice/app.py"}


@pytest.fixture(scope="session")
def package(pytestconfig: pytest.Config) -> Path:
    """The directory `chalice package` wrote (make package passes build/)."""
    given: str | None = pytestconfig.getoption("lambda_package")
    if given is None:
        pytest.skip("`make package` builds the Lambda package once and runs these tests on it")
    out = Path(given).resolve()
    assert (out / "deployment.zip").is_file(), f"{out} holds no `chalice package` output"
    return out


def names(package: Path) -> list[str]:
    with zipfile.ZipFile(package / "deployment.zip") as archive:
        return archive.namelist()


def top_level(name: str) -> str:
    head = name.split("/", 1)[0]
    return head.split("-", 1)[0].lower() if head.endswith(".dist-info") else head.lower()


def test_the_zip_is_at_most_10_mb(package: Path) -> None:
    assert (package / "deployment.zip").stat().st_size <= MAX_ZIP_BYTES


def test_the_zip_holds_no_pillow(package: Path) -> None:
    tops = {top_level(name) for name in names(package)}
    assert not {name.lower() for name in IMAGE_DECODERS} & tops


def test_the_zip_leaves_out_cffi_and_pycparser_and_keeps_cffis_backend(package: Path) -> None:
    tops = {top_level(name) for name in names(package)}
    assert not {"cffi", "pycparser"} & tops
    assert any(name.startswith("_cffi_backend.") for name in tops)


def test_argon2_hashes_and_verifies_from_the_zip_alone_without_cffi_or_pycparser(
    unpacked: Path,
) -> None:
    probe = (
        "import sys; sys.path.insert(0, '.')\n"
        "from argon2 import PasswordHasher\n"
        "from chalicelib import passwords\n"
        "hasher = PasswordHasher()\n"
        "stored = hasher.hash('correct horse battery')\n"
        "print(passwords.verify(hasher, stored, 'correct horse battery'),"
        " passwords.verify(hasher, stored, 'wrong'),"
        " sorted(m for m in ('cffi', 'pycparser') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", probe],
        cwd=unpacked,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "True False []"


def test_the_zip_holds_the_app_and_its_runtime_dependencies(package: Path) -> None:
    tops = {top_level(name) for name in names(package)}
    assert {"app.py", "chalicelib", "pydantic", "pydantic_core", "pymongo", "bson"} <= tops


def test_the_zip_holds_no_test_or_dev_package(package: Path) -> None:
    tops = {top_level(name).replace("_", "-") for name in names(package)}
    assert not {name.replace("_", "-") for name in FORBIDDEN} & tops
    chalice = {
        name for name in names(package) if name.startswith("chalice/") and name.endswith(".py")
    }
    assert chalice == CHALICE_RUNTIME


def test_the_template_runs_python_311_under_the_prod_policy_file(package: Path) -> None:
    template: dict[str, Any] = json.loads((package / "sam.json").read_text())
    resources = template["Resources"]
    functions = [r for r in resources.values() if r["Type"] == "AWS::Serverless::Function"]
    assert functions
    assert {f["Properties"]["Runtime"] for f in functions} == {"python3.11"}
    policy = json.loads((ROOT / ".chalice" / "policy-prod.json").read_text())
    # One role per function (a scheduled function gets its own), each on the same file.
    roles = [r for r in resources.values() if r["Type"] == "AWS::IAM::Role"]
    assert len(roles) == len(functions)
    for role in roles:
        assert [p["PolicyDocument"] for p in role["Properties"]["Policies"]] == [policy]
    assert "EndpointURL" in template["Outputs"]


def test_the_packaged_app_imports_from_the_zip_alone(package: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(package / "deployment.zip") as archive:
        archive.extractall(tmp_path)
    # Nothing but the app: no test tool, and none of the libraries only some requests use.
    # (The stdlib's email package too: pydantic's plugin loader takes it at the first
    # model built, a request's, not the import's.)
    unwanted = ("boto3", "pymongo", "mongomock", "pytest", "email.message", *ON_DEMAND)
    probe = (
        "import sys; sys.path.insert(0, '.'); import app; "
        f"print(sorted(m for m in {unwanted!r} if m in sys.modules))"
    )
    # -I -S: no site-packages, no user site, no PYTHON* variables: only the zip's contents.
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", probe],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "STAGE": "prod"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "[]"


# ------------------------------------------------------------- bytecode (read-only /var/task)

# PEP 552: bit 0 of a .pyc's flags says "hash-based", bit 1 "check the source". Unchecked
# hash-based bytecode is loaded without looking at the source's timestamp or contents.
_HASH_BASED = 0b01


def runtime_cache_tag(package: Path) -> str:
    template: dict[str, Any] = json.loads((package / "sam.json").read_text())
    [runtime] = {
        resource["Properties"]["Runtime"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Serverless::Function"
    }
    return "cpython-" + str(runtime).removeprefix("python").replace(".", "")


def test_every_module_in_the_zip_has_unchecked_bytecode_for_the_runtimes_python(
    package: Path,
) -> None:
    tag = runtime_cache_tag(package)
    # The magic number checked below is this interpreter's: it must be the runtime's Python.
    assert sys.implementation.cache_tag == tag
    problems: list[str] = []
    with zipfile.ZipFile(package / "deployment.zip") as archive:
        contents = set(archive.namelist())
        sources = [name for name in contents if name.endswith(".py")]
        assert "app.py" in sources
        for source in sources:
            directory, _, file = source.rpartition("/")
            pyc = f"{directory}/__pycache__/{file[:-3]}.{tag}.pyc".lstrip("/")
            if pyc not in contents:
                problems.append(f"{source}: no {pyc}")
                continue
            data = archive.read(pyc)
            flags = int.from_bytes(data[4:8], "little")
            if data[:4] != importlib.util.MAGIC_NUMBER:
                problems.append(f"{pyc}: magic {data[:4].hex()}, not {tag}'s")
            elif flags != _HASH_BASED:
                problems.append(f"{pyc}: flags {flags:#b}, not unchecked hash-based")
            elif data[8:16] != importlib.util.source_hash(archive.read(source)):
                problems.append(f"{pyc}: compiled from another version of {source}")
            else:
                marshal.loads(data[16:])  # noqa: S302 (our own artifact: it must load)
    assert not problems, "\n".join(problems[:20])


def test_importing_the_app_from_the_unpacked_zip_writes_no_bytecode(
    package: Path, tmp_path: Path
) -> None:
    # Unpacked files get the time of unpacking, as on Lambda: neither matches the sources'
    # build time. Bytecode written now would be what a read-only /var/task cannot keep
    # (this runs as whatever user, so it checks the writes instead of forbidding them).
    with zipfile.ZipFile(package / "deployment.zip") as archive:
        archive.extractall(tmp_path)
    before = _files(tmp_path)
    probe = "import sys; sys.path.insert(0, '.'); import app; print(app.__cached__)"
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", probe],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "STAGE": "prod"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip().endswith(f"__pycache__/app.{runtime_cache_tag(package)}.pyc")
    assert _files(tmp_path) == before


def _files(root: Path) -> dict[Path, int]:
    return {path: path.stat().st_mtime_ns for path in root.rglob("*")}


def test_the_index_function_is_packaged_with_time_to_build_indexes(package: Path) -> None:
    template: dict[str, Any] = json.loads((package / "sam.json").read_text())
    function = template["Resources"]["EnsureIndexes"]
    assert function["Type"] == "AWS::Serverless::Function"
    assert function["Properties"]["Timeout"] == 120


# ------------------------------------------------------- the binaries against Lambda's OS


@dataclass(frozen=True)
class LambdaOs:
    """What a Lambda Python runtime's OS gives a shared object: glibc and the GCC runtime
    of that release, and nothing else. Everything else must be in the zip."""

    name: str
    # Highest symbol version each provided family defines on that OS.
    versions: dict[str, tuple[int, ...]]


# AWS's Lambda runtimes page: python3.11 runs on Amazon Linux 2 (glibc 2.26, GCC 7.3),
# python3.12 and later on Amazon Linux 2023 (glibc 2.34, GCC 11).
AMAZON_LINUX_2 = LambdaOs(
    "Amazon Linux 2",
    {"GLIBC": (2, 26), "GLIBCXX": (3, 4, 24), "CXXABI": (1, 3, 11), "GCC": (7, 0, 0)},
)
AMAZON_LINUX_2023 = LambdaOs(
    "Amazon Linux 2023",
    {"GLIBC": (2, 34), "GLIBCXX": (3, 4, 29), "CXXABI": (1, 3, 13), "GCC": (7, 0, 0)},
)
LAMBDA_OS = {
    "python3.11": AMAZON_LINUX_2,
    "python3.12": AMAZON_LINUX_2023,
    "python3.13": AMAZON_LINUX_2023,
    "python3.14": AMAZON_LINUX_2023,
}
# The libraries a manylinux wheel may take from the system (PEP 599's list) that a
# Lambda image has: glibc's, the dynamic loader and the GCC runtime. The X11, GL and
# GLib ones of the policy are not on Lambda; a wheel that needs them must vendor them.
SYSTEM_LIBRARIES = {
    "libc.so.6",
    "libm.so.6",
    "libdl.so.2",
    "librt.so.1",
    "libpthread.so.0",
    "libutil.so.1",
    "libresolv.so.2",
    "libnsl.so.1",
    "ld-linux-x86-64.so.2",
    "libgcc_s.so.1",
    "libstdc++.so.6",
    # Not in PEP 599's text but in auditwheel's policy, which Pillow's wheels are built
    # to; Lambda's Python links it for its own zlib module.
    "libz.so.1",
}
_VERSION = re.compile(r"(?P<family>[A-Z]+)_(?P<number>\d+(?:\.\d+)*)")


def lambda_os(package: Path) -> LambdaOs:
    template: dict[str, Any] = json.loads((package / "sam.json").read_text())
    runtimes = {
        resource["Properties"]["Runtime"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Serverless::Function"
    }
    [runtime] = runtimes
    assert runtime in LAMBDA_OS, f"add {runtime}'s OS to LAMBDA_OS"
    return LAMBDA_OS[runtime]


def shared_objects(root: Path) -> list[Path]:
    def is_elf(path: Path) -> bool:
        with path.open("rb") as stream:
            return stream.read(4) == b"\x7fELF"

    return sorted(path for path in root.rglob("*") if path.is_file() and is_elf(path))


@dataclass(frozen=True)
class Linkage:
    machine: str
    needed: list[str]
    rpath: list[str]  # DT_RPATH: searched for this object's needs and its dependencies'
    runpath: list[str]  # DT_RUNPATH: for this object's own needs only, and it cancels DT_RPATH
    # (library, symbol version) for every versioned symbol taken from another object
    versions: list[tuple[str, str]]


def linkage(path: Path) -> Linkage:
    with path.open("rb") as stream:
        elf = ELFFile(stream)
        dynamic = elf.get_section_by_name(".dynamic")
        tags = list(dynamic.iter_tags()) if isinstance(dynamic, DynamicSection) else []

        def values(kind: str, attribute: str) -> list[str]:
            return [str(getattr(tag, attribute)) for tag in tags if tag.entry.d_tag == kind]

        def paths(kind: str, attribute: str) -> list[str]:
            found = values(kind, attribute)
            return [d.replace("$ORIGIN", str(path.parent)) for v in found for d in v.split(":")]

        section = elf.get_section_by_name(".gnu.version_r")
        requirements = section.iter_versions() if isinstance(section, GNUVerNeedSection) else ()
        return Linkage(
            machine=elf["e_machine"],
            needed=values("DT_NEEDED", "needed"),
            rpath=paths("DT_RPATH", "rpath"),
            runpath=paths("DT_RUNPATH", "runpath"),
            versions=[
                (str(needed.name), auxiliary.name)
                for needed, auxiliaries in requirements
                for auxiliary in auxiliaries
            ],
        )


def missing_libraries(module: Path, root: Path) -> list[str]:
    """The libraries that ld.so, loading this extension module from the zip on a host
    that has only SYSTEM_LIBRARIES, would not find (glibc's search: DT_RPATH of the
    object and of everything that loaded it unless the object has DT_RUNPATH, then
    DT_RUNPATH; no LD_LIBRARY_PATH on Lambda reaches into the zip)."""
    problems: list[str] = []
    seen: set[Path] = set()

    def load(path: Path, inherited: list[str]) -> None:
        if path in seen:
            return
        seen.add(path)
        links = linkage(path)
        rpaths = [] if links.runpath else [*links.rpath, *inherited]
        for library in links.needed:
            if library in SYSTEM_LIBRARIES:
                continue
            found = [Path(d) / library for d in [*rpaths, *links.runpath]]
            found = [candidate for candidate in found if candidate.is_file()]
            if found:
                load(found[0].resolve(), rpaths)
            else:
                problems.append(
                    f"{path.relative_to(root)}: needs {library}, "
                    "which is neither in the zip nor on Lambda"
                )

    load(module, [])
    return problems


def version_problems(path: Path, root: Path, target: LambdaOs) -> list[str]:
    """Symbol versions this object wants from Lambda's libraries that its OS lacks."""
    links = linkage(path)
    name = path.relative_to(root)
    problems = [] if links.machine == "EM_X86_64" else [f"{name}: built for {links.machine}"]
    for library, version in links.versions:
        match = _VERSION.fullmatch(version)
        if library not in SYSTEM_LIBRARIES or match is None:
            continue  # the zip's own libraries are checked as files of their own
        ceiling = target.versions.get(match["family"])
        wanted = tuple(int(part) for part in match["number"].split("."))
        if ceiling is not None and wanted > ceiling:
            problems.append(
                f"{name}: needs {version} from {library}; {target.name} has "
                f"{match['family']} up to {'.'.join(map(str, ceiling))}"
            )
    return problems


@pytest.fixture(scope="module")
def unpacked(package: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("zip")
    with zipfile.ZipFile(package / "deployment.zip") as archive:
        archive.extractall(root)
    return root


def test_every_binary_in_the_zip_loads_on_the_lambda_runtimes_os(
    package: Path, unpacked: Path
) -> None:
    # Importing on the build host proves nothing: it has a newer glibc and its own
    # libjpeg. This reads each shared object as Lambda's loader would.
    target = lambda_os(package)
    objects = shared_objects(unpacked)
    # What Python imports: extension modules, named for the interpreter's ABI.
    modules = [
        path for path in objects if re.search(r"\.(cpython-\d+-[\w-]+|abi3)\.so$", path.name)
    ]
    assert modules, "the zip holds no extension module: pydantic_core at least is one"
    problems = [p for module in modules for p in missing_libraries(module, unpacked)]
    problems += [p for path in objects for p in version_problems(path, unpacked, target)]
    assert not problems, "\n".join(problems)


# ---------------------------------------------- a server-side upload through the package


class _FakeImageKitServer(ThreadingHTTPServer):
    """ImageKit's upload and management APIs on 127.0.0.1, answered by ``FakeImageKit``.

    The packaged SDK reaches it through ``IMAGE_KIT_BASE_URL`` (the SDK's own setting,
    which sends the upload API there too); every request is recorded as it arrived.
    """

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _FakeImageKitHandler)
        self.fake = FakeImageKit()
        self.requests: list[tuple[str, str]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _FakeImageKitHandler(BaseHTTPRequestHandler):
    server: _FakeImageKitServer

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        request = httpx.Request(
            self.command, self.server.url + self.path, headers=dict(self.headers), content=body
        )
        path = request.url.path
        self.server.requests.append((self.command, path))
        fake = self.server.fake
        details = re.fullmatch(r"/v1/files/([^/]+)/details", path)
        file = re.fullmatch(r"/v1/files/([^/]+)", path)
        if (self.command, path) == ("POST", "/api/v1/files/upload"):
            answer = fake.upload(request)
        elif self.command == "GET" and details:
            answer = fake.details(request, details[1])
        elif self.command == "DELETE" and file:
            answer = fake.delete(request, file[1])
        else:
            answer = httpx.Response(404, json={"message": "not faked"})
        answer.read()
        self.send_response(answer.status_code)
        for name in ("content-type", "content-length"):
            if name in answer.headers:
                self.send_header(name, answer.headers[name])
        self.end_headers()
        self.wfile.write(answer.content)

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def do_DELETE(self) -> None:
        self._answer()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the test reads server.requests


@pytest.fixture
def imagekit_server() -> Iterator[_FakeImageKitServer]:
    server = _FakeImageKitServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


# Two requests to the packaged handler, as API Gateway sends them: the upload, then a
# /media URL (the local store's delivery, which must answer 404 on ImageKit, not load it).
UPLOAD_PROBE = (
    HANDLER_PRELUDE
    + """
import base64, json, sys
sys.path.insert(0, '.')
import app
given = json.load(sys.stdin)
def call(method, path, resource, params=None, headers=None, body=None):
    sent = event(path)
    sent.update(httpMethod=method, resource=resource, pathParameters=params)
    sent["requestContext"].update(httpMethod=method, resourcePath=resource)
    sent["headers"] = {"Host": "api.example.com", **(headers or {})}
    sent["multiValueHeaders"] = {k: [v] for k, v in sent["headers"].items()}
    if body is not None:
        sent.update(body=body, isBase64Encoded=True)
    return app.app(sent, LambdaContext())
uploaded = call("POST", "/images", "/images", body=given["photo"],
                headers={"Content-Type": "image/jpeg", "Authorization": given["authorization"]})
media = call("GET", "/media/a.jpg", "/media/{p1}", params={"p1": "a.jpg"})
print(json.dumps({"upload": uploaded, "media": media["statusCode"],
                  "decoders": sorted(m for m in ("PIL", "cffi") if m in sys.modules)}))
"""
)


def test_a_server_side_upload_through_the_packaged_app_is_staged_copied_and_cleaned_up(
    unpacked: Path, imagekit_server: _FakeImageKitServer
) -> None:
    mongo = ScriptedMongo().start()
    try:
        user_id, session_id = ObjectId(), uuid.uuid4().hex
        now = dt.datetime.now(dt.UTC)
        mongo.data["snapboard"].users.insert_one(
            {"_id": user_id, "email": "ann@example.com", "username": "ann",
             "password_hash": "-", "email_verified": True, "session_ids": [session_id],
             "created_at": now}
        )  # fmt: skip
        token = issue_access_token(
            secret=PROD_ENV["JWT_SECRET"],
            user_id=str(user_id),
            session_id=session_id,
            roles=["user"],
            now=now,
        )
        photo = phone_photo((96, 64))
        given = {
            "photo": base64.b64encode(photo).decode(),
            "authorization": f"Bearer {token}",
        }
        env = {
            "PATH": "/usr/bin:/bin",
            **PROD_ENV,
            "MONGODB_URI": mongo.uri,
            "IMAGEKIT_URL_ENDPOINT": URL_ENDPOINT,
            "IMAGE_KIT_BASE_URL": imagekit_server.url,
        }
        result = subprocess.run(
            [sys.executable, "-I", "-S", "-B", "-c", UPLOAD_PROBE],
            cwd=unpacked,
            env=env,
            input=json.dumps(given),
            capture_output=True,
            text=True,
            check=True,
        )
        seen = json.loads(result.stdout.strip().splitlines()[-1])
        images = list(mongo.data["snapboard"].images.find())
    finally:
        mongo.stop()
    assert seen["upload"]["statusCode"] == 201, seen["upload"]
    image = json.loads(seen["upload"]["body"])
    assert (image["width"], image["height"]) == (64, 96)
    assert seen["media"] == 404
    assert seen["decoders"] == []
    # Three ImageKit calls: the bytes into the staging folder, the clean copy ImageKit
    # fetches from a signed rt-auto,md-false URL of them, the staged file's delete.
    fake = imagekit_server.fake
    staged, copy = fake.uploads
    (staged_id,) = fake.deleted
    assert imagekit_server.requests == [
        ("POST", "/api/v1/files/upload"),
        ("POST", "/api/v1/files/upload"),
        ("DELETE", f"/v1/files/{staged_id}"),
    ]
    assert staged["fields"]["folder"] == f"/snapboard/uploads/{user_id}"
    assert staged["data"] == photo
    assert copy["fields"]["folder"] == f"/snapboard/users/{user_id}"
    assert f"/snapboard/uploads/{user_id}/" in copy["fields"]["source"]
    assert "?tr=rt-auto,md-false" in copy["fields"]["source"]
    (record,) = images
    assert list(fake.files) == [record["file_id"]]
    assert_clean_and_upright(fake.contents[record["file_id"]], turned_from=(96, 64))
