"""Managing accounts: listing and revoking API tokens, deactivating and reactivating users.

Each use case here is one function the admin pages and ``herald users`` both call; each
records its audit entry. A deactivated user's sessions end at once and their API tokens
are refused while the account stays inactive (they work again if it is reactivated).
"""

from __future__ import annotations

from sqlalchemy import delete, exists, or_, select, update
from sqlalchemy.orm import Session, aliased

from core.audit import record_audit
from publisher.accounts.identity import Identity
from publisher.accounts.models import ApiToken, Role, User, UserSession
from publisher.accounts.users import UserError


def api_tokens_of(session: Session, user_id: int | None = None) -> list[tuple[ApiToken, str]]:
    """API tokens with their owner's email, newest first: one user's, or everyone's."""
    query = select(ApiToken, User.email).join(User, User.id == ApiToken.user_id)
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    rows = session.execute(query.order_by(ApiToken.created_at.desc(), ApiToken.id.desc()))
    return [(token, email) for token, email in rows.tuples()]


def revoke_api_token(
    session: Session, token_id: int, *, actor: str, by: Identity | None = None
) -> ApiToken:
    """End one API token at once. ``by``: the signed-in user, who must own it or be an admin
    (None: the command line, which may end any)."""
    token = session.get(ApiToken, token_id)
    if token is None or (by is not None and not by.is_admin and token.user_id != by.user_id):
        raise UserError(f"no API token {token_id}")
    session.delete(token)
    record_audit(
        session,
        actor=actor,
        action="user.api_token_revoke",
        object_type="user",
        object_id=token.user_id,
        details={"token_id": token_id, "name": token.name},
    )
    return token


def deactivate_user(session: Session, user: User, *, actor: str) -> bool:
    """Stop ``user`` from logging in and end their sessions; their tokens are refused.

    Refused (:class:`UserError`) for the last active admin. Returns whether anything changed.
    """
    _lock_active_admins(session)
    other = aliased(User)
    another_admin = exists().where(other.role == Role.ADMIN, other.active, other.id != user.id)
    changed = session.execute(
        update(User)
        .where(User.id == user.id, User.active, or_(User.role != Role.ADMIN, another_admin))
        .values(active=False),
        execution_options={"synchronize_session": False},
    )
    session.expire(user)
    if not changed.rowcount:  # type: ignore[attr-defined]
        if user.active:
            raise UserError("the last active admin cannot be deactivated")
        return False
    session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    record_audit(
        session,
        actor=actor,
        action="user.deactivate",
        object_type="user",
        object_id=user.id,
        details={"email": user.email},
    )
    return True


def _lock_active_admins(session: Session) -> None:
    # On PostgreSQL two admins deactivating each other must take turns, or both would see
    # the other still active. (SQLite runs one writer at a time and ignores FOR UPDATE; the
    # guarded UPDATE above then decides on what the previous writer committed.)
    admins = select(User.id).where(User.role == Role.ADMIN, User.active).with_for_update()
    session.execute(admins).all()


def reactivate_user(session: Session, user: User, *, actor: str) -> bool:
    """Let a deactivated user log in again; returns whether anything changed."""
    if user.active:
        return False
    user.active = True
    record_audit(
        session,
        actor=actor,
        action="user.reactivate",
        object_type="user",
        object_id=user.id,
        details={"email": user.email},
    )
    return True
