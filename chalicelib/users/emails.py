"""Email addresses as account keys: one address is one account."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib import errors, lazy

if TYPE_CHECKING:
    import email_validator
else:
    email_validator = lazy.module("email_validator")


def normalise_email(raw: str) -> str:
    """Validated, normalised and lower-cased, so one address is one account."""
    try:
        checked = email_validator.validate_email(raw.strip(), check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        raise errors.InvalidInput.field("email", str(exc)) from None
    return checked.normalized.lower()


def lookup_key(raw: str) -> str:
    """How a typed-in address is looked up: normalised like at registration when valid."""
    try:
        return normalise_email(raw)
    except errors.InvalidInput:
        return raw.strip().lower()
