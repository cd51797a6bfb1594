"""On a real MongoDB the feed's queries are served by the indexes declared in db.py.

The embedded stand-in has no query planner, so these run only in the
integration pass (``MONGODB_URI`` set); on the stand-in they are skipped.
"""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.composition import Clients
from chalicelib.posts import repository


def index_names(plan: dict[str, Any]) -> set[str]:
    """Every index an explain() plan stage uses, at any depth."""
    names = {plan["indexName"]} if "indexName" in plan else set()
    for key in ("inputStage", "queryPlan"):
        if key in plan:
            names |= index_names(plan[key])
    for child in plan.get("inputStages", []):
        names |= index_names(child)
    return names


def winning_indexes(svc: Clients, **filters: Any) -> set[str]:
    query: dict[str, Any] = repository.visible_to(filters.pop("viewer_id", None))
    clauses = [query, *({k: v} for k, v in filters.items())]
    cursor = (
        svc.db.posts.find({"$and": clauses} if len(clauses) > 1 else query)
        .sort([("created_at", -1), ("_id", -1)])
        .limit(20)
    )
    explained = cursor.explain()
    return index_names(explained["queryPlanner"]["winningPlan"])


@pytest.fixture
def real_server(svc: Clients) -> Clients:
    if svc.settings.uses_embedded_mongo or type(svc.mongo_client).__module__.startswith(
        "mongomock"
    ):
        pytest.skip("explain() needs a real MongoDB (set MONGODB_URI)")
    return svc


@pytest.mark.integration
def test_the_public_feed_uses_the_feed_index(real_server: Clients) -> None:
    assert "feed" in winning_indexes(real_server)


@pytest.mark.integration
def test_a_tag_filter_uses_the_tag_index(real_server: Clients) -> None:
    assert winning_indexes(real_server, tags="sea") & {"by_tag", "feed"}


@pytest.mark.integration
def test_an_author_filter_uses_the_author_index(real_server: Clients) -> None:
    assert winning_indexes(real_server, author_id="6b0811cac0b015e7f3518c7c") & {
        "by_author",
        "feed",
    }


@pytest.mark.integration
def test_text_search_uses_the_text_index(real_server: Clients) -> None:
    search = repository.search_filter("harbour", native_text=True)
    assert search is not None
    assert "text" in winning_indexes(real_server, **search)
