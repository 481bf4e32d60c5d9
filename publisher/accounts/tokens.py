"""API tokens: bearer secrets for programs, stored only as a digest, their use noted lazily."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from publisher.accounts.identity import Identity, identity_of, secret_digest
from publisher.accounts.models import ApiToken, User

API_TOKEN_PREFIX = "hrld_"  # noqa: S105 - a label, not a secret


# An API token's ``last_used_at`` is written at most this often.
TOKEN_USE_PRECISION = timedelta(minutes=1)


def create_api_token(session: Session, user: User, *, name: str) -> str:
    """A new API token for ``user``; the only time its secret is shown. Its name is what the
    token is for, trimmed to the 200 characters kept."""
    secret = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    label = name.strip()[:200]
    session.add(
        ApiToken(token_hash=secret_digest(secret), prefix=secret[:12], user_id=user.id, name=label)
    )
    return secret


def identity_for_api_token(session: Session, secret: str, *, now: datetime) -> Identity | None:
    """Who an ``Authorization: Bearer`` token acts as, if it exists and the user is active.

    Notes the token's use (:func:`note_api_token_use`); run it in a short unit of work of its
    own, not the request's.
    """
    row = session.execute(
        select(User, ApiToken.id)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == secret_digest(secret))
    ).first()
    if row is None or not row[0].active:
        return None
    note_api_token_use(session, row[1], now=now)
    return identity_of(row[0], via="token")


def note_api_token_use(session: Session, token_id: int, *, now: datetime) -> None:
    """Set the token's ``last_used_at``, at most once per :data:`TOKEN_USE_PRECISION`.

    Skipped when another request holds the row's lock (``SKIP LOCKED`` on PostgreSQL): the
    time is a hint for admins, never worth waiting for.
    """
    stale = or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < now - TOKEN_USE_PRECISION)
    unlocked = (
        select(ApiToken.id).where(ApiToken.id == token_id, stale).with_for_update(skip_locked=True)
    )
    session.execute(
        update(ApiToken).where(ApiToken.id.in_(unlocked)).values(last_used_at=now),
        execution_options={"synchronize_session": False},
    )
