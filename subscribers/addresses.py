"""Email addresses as Herald keeps them: validated (no DNS lookups) and normalised.

Addresses are unique case-insensitively, so the normalised form is lower-cased as a whole:
no mailbox provider in practice tells ``Anna@`` from ``anna@``.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email


class InvalidAddress(ValueError):
    """Not a usable email address; the message says why, for a person to read."""


def normalise_address(raw: str) -> str:
    """The canonical form of ``raw`` (trimmed, IDNA domain, lower-case), or InvalidAddress."""
    try:
        checked = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidAddress(str(error)) from error
    return checked.normalized.lower()
