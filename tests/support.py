"""Test helpers: one HTTP client shape for every runtime the app serves on."""

from __future__ import annotations

import json as jsonlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import argon2
from argon2 import PasswordHasher

# argon2's cheapest parameters: tests hash hundreds of passwords.
CHEAP_HASHER = PasswordHasher.from_parameters(argon2.profiles.CHEAPEST)


class Headers(Mapping[str, str]):
    """Response headers, looked up case-insensitively like HTTP says."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self._all = {
            k.lower(): [str(x) for x in v] if isinstance(v, list) else [str(v)]
            for k, v in raw.items()
        }
        self._items = {k: ", ".join(v) for k, v in self._all.items()}

    def get_all(self, key: str) -> list[str]:
        """Every value of a repeatable header (``Set-Cookie``), as sent."""
        return list(self._all.get(key.lower(), []))

    def __getitem__(self, key: str) -> str:
        return self._items[key.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


@dataclass
class Reply:
    status: int
    headers: Headers
    body: bytes

    @property
    def json(self) -> Any:
        return jsonlib.loads(self.body)

    def cookie(self, name: str) -> str | None:
        """The ``Set-Cookie`` value that sets ``name`` (None when the reply sets none)."""
        for value in self.headers.get_all("set-cookie"):
            if value.startswith(f"{name}="):
                return value
        return None

    @property
    def problem(self) -> dict[str, Any]:
        """The problem+json body, after checking that it is one."""
        assert self.headers["content-type"] == "application/problem+json", self.headers
        body: dict[str, Any] = self.json
        assert body["status"] == self.status
        return body


class Transport(Protocol):
    def __call__(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply: ...


@dataclass
class Http:
    """``client.get("/health")``, ``client.post("/x", json={...})`` on any runtime."""

    transport: Transport
    default_headers: dict[str, str] = field(default_factory=dict)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        body: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        sent = {**self.default_headers, **(headers or {})}
        payload = b""
        if json is not None:
            payload = jsonlib.dumps(json).encode()
            sent.setdefault("Content-Type", "application/json")
        elif body is not None:
            payload = body.encode() if isinstance(body, str) else body
        return self.transport(method, path, sent, payload)

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Reply:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Reply:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Reply:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Reply:
        return self.request("DELETE", path, **kwargs)

    def options(self, path: str, **kwargs: Any) -> Reply:
        return self.request("OPTIONS", path, **kwargs)


class FakeClock:
    """The app's clock for tests: starts at the real time, moves only when told.

    Starting at the real time keeps JWT checks (which PyJWT makes against the
    real clock) meaningful; ``advance`` ages sessions, tokens and lockouts.
    """

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


WsgiApp = Callable[[dict[str, Any], Callable[..., Callable[[bytes], object]]], Iterable[bytes]]


def call_wsgi(app: WsgiApp, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    """Call a WSGI application the way a server does: status, header list, body."""
    started: list[Any] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], object]:
        started[:] = [status, headers]
        return lambda data: None

    body = b"".join(app(environ, start_response))
    return int(started[0].split()[0]), started[1], body


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_serving(url: str, server: Any, what: str, *, seconds: float = 30) -> None:
    """Poll ``url`` until it answers; fail early if ``server`` (a Popen) exits."""
    import time
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start") from None
            time.sleep(0.1)
