"""Modules that only some requests need, imported by the first one that does.

Every Lambda cold start pays for what ``import app`` loads, and ``/health``
needs none of PyJWT (with ``cryptography``), ``email_validator`` or argon2. The
module that wraps such a library names it once, at its top, through this seam::

    if TYPE_CHECKING:
        import jwt
    else:
        jwt = lazy.module("jwt")

and uses it as usual (``jwt.encode(...)``, ``except jwt.InvalidTokenError``); the
import runs at the first attribute read. ``importlib.import_module`` takes the
import system's per-module lock, so threads that race for a first use import the
module once, all of them seeing it whole (unlike ``importlib.util.LazyLoader``,
which 3.11 does not make thread-safe).
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule(ModuleType):
    """Stands for the module ``name`` and imports it at the first attribute read."""

    _real: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        real = self._real
        if real is None:
            # Never ``sys.modules`` directly: a module is there from the moment its import
            # starts, so a thread that looked there could see it half-initialised.
            # ``import_module`` waits on the module's import lock until it is whole.
            real = importlib.import_module(self.__name__)
            self._real = real
        return getattr(real, attribute)


def module(name: str) -> Any:
    """The module ``name``, imported when first used (typed ``Any``: see the module doc)."""
    return LazyModule(name)
