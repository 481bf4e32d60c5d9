"""Login sessions: a random cookie per login, stored only as a digest, with its CSRF token."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.database import utcnow
from publisher.accounts.identity import Identity, identity_of, secret_digest
from publisher.accounts.models import User, UserSession

SESSION_DAYS = 14


def start_session(session: Session, user: User) -> str:
    """A new login session for ``user``; returns the cookie value (stored only as a digest)."""
    secret = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            token_hash=secret_digest(secret),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            expires_at=utcnow() + timedelta(days=SESSION_DAYS),
        )
    )
    return secret


def end_session(session: Session, cookie: str) -> None:
    """Log out: the cookie no longer works anywhere."""
    session.execute(delete(UserSession).where(UserSession.token_hash == secret_digest(cookie)))


def forget_expired_sessions(session: Session) -> int:
    """Delete login sessions past their expiry (they log no one in); return how many."""
    result = session.execute(delete(UserSession).where(UserSession.expires_at <= utcnow()))
    return int(result.rowcount)  # type: ignore[attr-defined]


def identity_for_session(session: Session, cookie: str) -> Identity | None:
    """Who holds this session cookie, if it is current and their account active."""
    row = session.execute(
        select(User, UserSession.csrf_token)
        .join(UserSession, UserSession.user_id == User.id)
        .where(UserSession.token_hash == secret_digest(cookie), UserSession.expires_at > utcnow())
    ).first()
    if row is None or not row[0].active:
        return None
    return identity_of(row[0], via="session", csrf_token=row[1])
