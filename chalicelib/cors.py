"""CORS allow-list with ``*`` wildcards inside a host label.

Chalice's ``CORSConfig`` allows exactly one origin. Vercel preview deployments
need a pattern (``https://snapboard-*-acme.vercel.app``), and a local frontend
needs its own origin beside production, so the policy is ours.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# A wildcard stands for part of one DNS label, one character at least: it never
# spans a dot, so "https://*.example.com" cannot match "https://evil.com/.example.com"
# or "https://a.b.example.com", and it is never empty, so "https://snapboard-*-acme.vercel.app"
# does not match "https://snapboard--acme.vercel.app".
_LABEL_WILDCARD = "[a-z0-9-]+"
_PATTERN = re.compile(r"(https?)://([a-z0-9*-]+(?:\.[a-z0-9*-]+)*)(?::(\d{1,5}))?")


class InvalidOriginPattern(ValueError):
    pass


@dataclass(frozen=True)
class OriginPolicy:
    """Which browser origins may call the API with credentials."""

    patterns: tuple[str, ...]
    _regexes: tuple[re.Pattern[str], ...]

    @classmethod
    def from_patterns(cls, patterns: Iterable[str]) -> OriginPolicy:
        cleaned = tuple(p.strip().lower().rstrip("/") for p in patterns if p.strip())
        return cls(cleaned, tuple(_compile(p) for p in cleaned))

    def allows(self, origin: str | None) -> bool:
        if not origin:
            return False
        candidate = origin.lower()
        return any(regex.fullmatch(candidate) for regex in self._regexes)


def _compile(pattern: str) -> re.Pattern[str]:
    match = _PATTERN.fullmatch(pattern)
    if match is None:
        raise InvalidOriginPattern(
            f"{pattern!r} is not an origin (scheme://host[:port], '*' only inside host labels)"
        )
    scheme, host, port = match.groups()
    labels = [_label_regex(label) for label in host.split(".")]
    regex = re.escape(scheme) + "://" + r"\.".join(labels)
    if port:
        regex += ":" + port
    return re.compile(regex)


def _label_regex(label: str) -> str:
    return re.escape(label).replace(r"\*", _LABEL_WILDCARD)
