"""Domain exceptions, and the one error of configuration.

They describe what went wrong in the language of the application and carry no
HTTP: `chalicelib.wire` holds the one map that turns them into problem+json.
``ConfigError`` lives here, not with the settings that raise it, so that what
catches it (the request wrapper, the entry points) loads no settings model.
"""

from __future__ import annotations

from typing import NamedTuple


class ConfigError(Exception):
    """The environment does not describe a process we are willing to start."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            "invalid configuration:\n" + "\n".join(f"  - {problem}" for problem in problems)
        )


class FieldError(NamedTuple):
    """One failing input field: a dotted path (``tags.2``) and a readable message."""

    field: str
    message: str


class DomainError(Exception):
    """Base of every error the application raises on purpose.

    ``code`` is a stable, machine-readable identifier clients may branch on
    (``email_not_verified``); ``detail`` is for humans.
    """

    code = "error"

    def __init__(self, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code


class BadRequest(DomainError):
    code = "bad_request"


class InvalidInput(DomainError):
    """The request was understood but its fields break the rules."""

    code = "invalid_input"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[FieldError] | tuple[FieldError, ...] = (),
        code: str | None = None,
    ) -> None:
        super().__init__(detail, code=code)
        self.errors = tuple(errors)

    @classmethod
    def field(cls, field: str, message: str) -> InvalidInput:
        """One failing field, described once."""
        return cls(f"{field}: {message}", errors=[FieldError(field, message)])

    @classmethod
    def fields(
        cls, found: list[FieldError] | tuple[FieldError, ...], *, total: int | None = None
    ) -> InvalidInput:
        """Several failing fields, named once each in the detail.

        ``total`` counts every failure when ``found`` lists only the first of them.
        """
        names = ", ".join(dict.fromkeys(error.field for error in found))
        more = (total or len(found)) - len(found)
        suffix = f" (and {more} more {'error' if more == 1 else 'errors'})" if more > 0 else ""
        return cls(f"Invalid value for: {names}{suffix}", errors=found)


class Unauthenticated(DomainError):
    code = "unauthenticated"


class Forbidden(DomainError):
    code = "forbidden"


class NotFound(DomainError):
    code = "not_found"


class MethodNotAllowed(DomainError):
    code = "method_not_allowed"

    def __init__(self, detail: str, *, allowed: list[str]) -> None:
        super().__init__(detail)
        self.allowed = allowed


class Conflict(DomainError):
    code = "conflict"


class PreconditionFailed(DomainError):
    code = "precondition_failed"


class PayloadTooLarge(DomainError):
    code = "payload_too_large"


class UnsupportedMediaType(DomainError):
    code = "unsupported_media_type"


class RateLimited(DomainError):
    code = "rate_limited"

    def __init__(self, detail: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(detail, code=code)
        self.retry_after = max(1, retry_after)


class UpstreamFailed(DomainError):
    """A service we depend on (image store, mail) failed; the request did not take effect."""

    code = "upstream_failed"


class Unavailable(DomainError):
    """We cannot serve right now (database unreachable); the client may retry."""

    code = "unavailable"

    def __init__(self, detail: str, *, retry_after: int = 5, code: str | None = None) -> None:
        super().__init__(detail, code=code)
        self.retry_after = retry_after
