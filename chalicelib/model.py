"""The base of every pydantic model here: each builds its validator when first used.

Building a model's core schema and validator is most of what defining the class
costs, and ``import app`` defines every model the routes declare, on each Lambda
cold start. Deferred, ``/health`` builds only its own, and each other model is
built by the first request that validates or serialises it (or by the OpenAPI
document), once per process.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    """A pydantic model whose validator is built at first use (``defer_build``)."""

    model_config = ConfigDict(defer_build=True)
