"""Who a request acts as, and the digest that is all Herald keeps of a session or token secret."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from publisher.accounts.models import Role, User


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is making a request, and how they proved it."""

    user_id: int
    email: str
    name: str
    role: str
    timezone: str
    via: str
    """"session" (a browser cookie: forms need the CSRF token) or "token" (API)."""
    csrf_token: str = ""

    @property
    def is_admin(self) -> bool:
        """Whether this person may approve, send and manage."""
        return self.role == Role.ADMIN

    @property
    def label(self) -> str:
        """How the audit log names them."""
        return self.email


def secret_digest(secret: str) -> str:
    """What is stored of a session cookie or API token: its SHA-256, never the secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def identity_of(user: User, *, via: str, csrf_token: str = "") -> Identity:
    """The identity a request acts as, for ``user`` proved ``via`` a session or a token."""
    return Identity(
        user_id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        timezone=user.timezone,
        via=via,
        csrf_token=csrf_token,
    )
