"""Email addresses as account keys: one address is one account."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from chalicelib import errors


def normalise_email(raw: str) -> str:
    """Validated, normalised and lower-cased, so one address is one account."""
    try:
        checked = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise errors.InvalidInput.field("email", str(exc)) from None
    return checked.normalized.lower()


def lookup_key(raw: str) -> str:
    """How a typed-in address is looked up: normalised like at registration when valid."""
    try:
        return normalise_email(raw)
    except errors.InvalidInput:
        return raw.strip().lower()
