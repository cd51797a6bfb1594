"""Count database operations through a thin wrapper around the client.

pymongo's command monitoring never sees the embedded stand-in, so the count
is taken one level up: every collection method that talks to the server is
one operation. The same wrapper works around a real MongoClient.

The wrapper can also disturb one operation (``counted.before(...)``): a write
that fails, or a concurrent request that lands first, on the real code path.

A test module counts its app's operations by asking for ``counted`` and
serving ``counting_svc`` as its ``svc`` (tests/conftest.py loads these fixtures).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.composition import Clients
from chalicelib.settings import Settings
from tests.support import CHEAP_HASHER, FakeClock

OPERATIONS = {
    "find",
    "find_one",
    "find_one_and_update",
    "find_one_and_delete",
    "find_one_and_replace",
    "insert_one",
    "insert_many",
    "update_one",
    "update_many",
    "delete_one",
    "delete_many",
    "aggregate",
    "count_documents",
    "distinct",
    "create_indexes",
    "bulk_write",
}


Hook = Callable[..., None]


class Counter:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.hooks: dict[tuple[str, str], Hook] = {}

    def before(self, collection: str, operation: str, hook: Hook | None) -> None:
        """Run ``hook(real_collection, *args, **kwargs)`` ahead of each such call (None: stop).

        A hook that raises stands for a failing database; one that writes, for a
        request that got there first.
        """
        if hook is None:
            self.hooks.pop((collection, operation), None)
        else:
            self.hooks[(collection, operation)] = hook

    def reset(self) -> None:
        self.calls.clear()

    @property
    def count(self) -> int:
        return len(self.calls)


class CountingCollection:
    def __init__(self, real: Any, counter: Counter) -> None:
        self._real = real
        self._counter = counter

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._real, name)
        if name not in OPERATIONS:
            return attribute

        def counted(*args: Any, **kwargs: Any) -> Any:
            self._counter.calls.append((self._real.name, name))
            hook = self._counter.hooks.get((self._real.name, name))
            if hook is not None:
                hook(self._real, *args, **kwargs)
            return attribute(*args, **kwargs)

        return counted


class CountingDatabase:
    def __init__(self, real: Any, counter: Counter) -> None:
        self._real = real
        self._counter = counter

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name in {"name", "client", "command", "list_collection_names"}:
            return getattr(self._real, name)
        return CountingCollection(self._real[name], self._counter)

    def __getitem__(self, name: str) -> CountingCollection:
        return CountingCollection(self._real[name], self._counter)


class CountingClient:
    def __init__(self, real: Any, counter: Counter) -> None:
        self._real = real
        self._counter = counter

    def __getitem__(self, name: str) -> CountingDatabase:
        return CountingDatabase(self._real[name], self._counter)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


@pytest.fixture
def counted() -> Counter:
    """Every database operation the test's app makes, in order."""
    return Counter()


@pytest.fixture
def counting_svc(
    settings: Settings, mongo_client: Any, clock: FakeClock, counted: Counter
) -> Clients:
    """The test's clients, their database counting every operation into ``counted``."""
    return Clients(
        settings,
        mongo_client=CountingClient(mongo_client, counted),  # type: ignore[arg-type]
        password_hasher=CHEAP_HASHER,
        clock=clock,
    )
