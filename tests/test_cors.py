from __future__ import annotations

import pytest

from chalicelib.cors import InvalidOriginPattern, OriginPolicy

POLICY = OriginPolicy.from_patterns(
    [
        "http://localhost:5173",
        "https://snapboard.example",
        "https://snapboard-*-acme.vercel.app",
        "https://*.preview.example",
    ]
)


@pytest.mark.parametrize(
    "origin",
    [
        "http://localhost:5173",
        "https://snapboard.example",
        "HTTPS://SNAPBOARD.EXAMPLE",
        "https://snapboard-git-feature-x-acme.vercel.app",
        "https://snapboard-pr-1-acme.vercel.app",
        "https://snapboard-x-acme.vercel.app",
        "https://pr-12.preview.example",
    ],
)
def test_listed_and_wildcard_origins_are_allowed(origin: str) -> None:
    assert POLICY.allows(origin)


@pytest.mark.parametrize(
    "origin",
    [
        None,
        "",
        "null",
        "http://localhost:3000",
        "http://snapboard.example",
        "https://snapboard.example.evil.test",
        "https://evilsnapboard.example",
        "https://snapboard-x.y-acme.vercel.app",
        "https://snapboard-x-acme.vercel.app.evil.test",
        "https://snapboard-x-other.vercel.app",
        "https://a.b.preview.example",
        "https://.preview.example",
        # A wildcard stands for at least one character: never an empty stretch of a label.
        "https://snapboard--acme.vercel.app",
        "https://snapboard-acme.vercel.app",
    ],
)
def test_other_origins_are_refused(origin: str | None) -> None:
    assert not POLICY.allows(origin)


@pytest.mark.parametrize(
    "pattern",
    ["*", "snapboard.example", "https://snapboard.example/path", "ftp://x.example", "https://"],
)
def test_a_pattern_that_is_not_an_origin_is_rejected(pattern: str) -> None:
    with pytest.raises(InvalidOriginPattern):
        OriginPolicy.from_patterns([pattern])
