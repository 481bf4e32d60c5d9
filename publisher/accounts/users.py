"""People who use the admin: creating editors and admins, their passwords, logging in.

Passwords are hashed with argon2id; repeated failures lock an account for a while. Session
cookies and API tokens (:mod:`publisher.accounts.sessions`, :mod:`publisher.accounts.tokens`)
are random secrets of which only a digest is stored, so a copy of the database logs no one in.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.audit import record_audit
from core.database import utcnow
from publisher.accounts.models import ROLES, ApiToken, Role, User, UserSession

MAX_FAILED_LOGINS = 10
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 10

_hasher = PasswordHasher()
# Verified against when the email is unknown, so a login takes as long either way.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


class UserError(ValueError):
    """A user could not be created or changed; the message says why."""


class SetupDone(UserError):
    """The first admin exists already (perhaps created a moment ago by a concurrent setup)."""


def normalise_email(email: str) -> str:
    """The address in canonical form (domain lower-cased), or :class:`UserError`."""
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise UserError(str(error)) from error


def create_user(
    session: Session, *, email: str, password: str, role: str = Role.EDITOR, name: str = ""
) -> User:
    """A new user with an argon2id-hashed password."""
    user = _new_user(session, email=email, password=password, role=role, name=name)
    session.add(user)
    session.flush()
    return user


def _new_user(session: Session, *, email: str, password: str, role: str, name: str) -> User:
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    address = normalise_email(email)
    if session.scalar(select(User.id).where(User.email == address)) is not None:
        raise UserError(f"a user {address} already exists")
    return User(email=address, name=name, role=role, password_hash=hash_password(password))


def create_first_admin(session: Session, *, email: str, password: str, name: str = "") -> User:
    """The first admin, while no account exists; :class:`SetupDone` once one does.

    Concurrent setups all see no account; the unique index on ``first_admin`` lets one
    insert through and the others fail, whichever database this is.
    """
    if count_users(session) > 0:
        raise SetupDone("setup is already done")
    user = _new_user(session, email=email, password=password, role=Role.ADMIN, name=name)
    user.first_admin = True
    try:
        # Only the insert inside the savepoint: on SQLite a read there would pin a snapshot
        # that a concurrent setup's commit makes stale ("database is locked" at once).
        with session.begin_nested():
            session.add(user)
    except IntegrityError as error:
        raise SetupDone("setup is already done") from error
    return user


def ensure_first_admin(session: Session, *, email: str, password: str) -> User | None:
    """Create the admin ``email`` if no account exists at all yet; else change nothing."""
    if not email:
        return None
    try:
        return create_first_admin(session, email=email, password=password, name="Admin")
    except SetupDone:
        return None


def hash_password(password: str) -> str:
    """The argon2id hash of an acceptable password, or :class:`UserError`."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def set_password(session: Session, user: User, password: str) -> int:
    """Change a password and end every session and API token of that user; return how many
    tokens ended (whoever learnt the old password may have made some)."""
    user.password_hash = hash_password(password)
    session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    ended = session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
    return int(ended.rowcount)  # type: ignore[attr-defined]


def count_users(session: Session) -> int:
    """How many accounts exist (none: the first visitor sets up the first admin)."""
    return session.scalar(select(func.count()).select_from(User)) or 0


def authenticate(
    session: Session, email: str, password: str, *, now: datetime | None = None
) -> User | None:
    """The active user with this email and password; repeated failures lock the account.

    Failures are counted by one ``UPDATE … RETURNING`` each, so parallel attempts cannot
    overwrite each other's count, and a login succeeds only if no lock was set meanwhile.
    """
    now = now or utcnow()
    user = _account_for(session, email)
    if user is None or not user.active or (user.locked_until and user.locked_until > now):
        _verify(_DUMMY_HASH, password)
        return None
    if not _verify(user.password_hash, password):
        _count_failure(session, user, now)
        return None
    if not _clear_failures(session, user, now):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def _account_for(session: Session, email: str) -> User | None:
    try:
        address = normalise_email(email)
    except UserError:
        return None
    return session.scalar(select(User).where(User.email == address))


def _count_failure(session: Session, user: User, now: datetime) -> None:
    failures = session.scalar(
        update(User)
        .where(User.id == user.id)
        .values(failed_logins=User.failed_logins + 1)
        .returning(User.failed_logins),
        execution_options={"synchronize_session": False},
    )
    if failures is not None and failures >= MAX_FAILED_LOGINS:
        session.execute(
            update(User)
            .where(User.id == user.id)
            .values(locked_until=now + LOCKOUT, failed_logins=0),
            execution_options={"synchronize_session": False},
        )
        record_audit(
            session,
            actor=user.email,
            action="user.locked",
            object_type="user",
            object_id=user.id,
            details={"failed_logins": failures},
        )
    session.expire(user)


def _clear_failures(session: Session, user: User, now: datetime) -> bool:
    unlocked = or_(User.locked_until.is_(None), User.locked_until <= now)
    cleared = session.execute(
        update(User)
        .where(User.id == user.id, unlocked)
        .values(failed_logins=0, locked_until=None, last_login_at=now),
        execution_options={"synchronize_session": False},
    )
    session.expire(user)
    return bool(cleared.rowcount)  # type: ignore[attr-defined]


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def all_users(session: Session) -> list[User]:
    """Every account, admins first, then by email."""
    return list(session.scalars(select(User).order_by(User.role, User.email)))


def find_user(session: Session, email: str) -> User | None:
    """The account with this email, if any."""
    return session.scalar(select(User).where(User.email == normalise_email(email)))
