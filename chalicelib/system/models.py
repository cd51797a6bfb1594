"""Wire shapes of the service's own endpoints."""

from __future__ import annotations

from typing import Literal

from chalicelib.model import Model


class Health(Model):
    status: Literal["ok"] = "ok"


class Ready(Model):
    status: Literal["ready"] = "ready"
    database: Literal["ok"] = "ok"


class Index(Model):
    name: str
    docs: str
    openapi: str
