"""People who use the admin: editors and admins, their login sessions and API tokens.

Passwords are hashed with argon2id. Session cookies and API tokens are random secrets of
which only a SHA-256 digest is stored, so a copy of the database logs no one in.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import ForeignKey, Index, String, delete, false, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.audit import record_audit
from core.database import Base, UTCDateTime, utcnow


class Role(StrEnum):
    """What a user may do: an editor writes and submits, an admin also approves and sends."""

    EDITOR = "editor"
    ADMIN = "admin"


ROLES = tuple(Role)
SESSION_DAYS = 14
MAX_FAILED_LOGINS = 10
LOCKOUT = timedelta(minutes=15)
API_TOKEN_PREFIX = "hrld_"  # noqa: S105 - a label, not a secret
MIN_PASSWORD_LENGTH = 10
TOKEN_USE_PRECISION = timedelta(minutes=1)
"""An API token's ``last_used_at`` is written at most this often."""

_hasher = PasswordHasher()
# Verified against when the email is unknown, so a login takes as long either way.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


class User(Base):
    """An editor (writes and submits posts) or an admin (also approves, sends, manages)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16), default=Role.EDITOR)
    password_hash: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    first_admin: Mapped[bool] = mapped_column(default=False, server_default=false())
    """Made by the first-visit setup: a unique partial index lets only one row say so."""

    __table_args__ = (
        Index(
            "uq_users_first_admin",
            "first_admin",
            unique=True,
            postgresql_where=text("first_admin"),
            sqlite_where=text("first_admin"),
        ),
    )


class UserSession(Base):
    """A browser's login: the cookie's digest, its CSRF token and its expiry."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiToken(Base):
    """A named bearer token for the JSON API, acting as its user."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    """The token's first characters, to tell tokens apart in lists."""
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


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


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def start_session(session: Session, user: User) -> str:
    """A new login session for ``user``; returns the cookie value (stored only as a digest)."""
    secret = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            token_hash=_digest(secret),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            expires_at=utcnow() + timedelta(days=SESSION_DAYS),
        )
    )
    return secret


def end_session(session: Session, cookie: str) -> None:
    """Log out: the cookie no longer works anywhere."""
    session.execute(delete(UserSession).where(UserSession.token_hash == _digest(cookie)))


def forget_expired_sessions(session: Session) -> int:
    """Delete login sessions past their expiry (they log no one in); return how many."""
    result = session.execute(delete(UserSession).where(UserSession.expires_at <= utcnow()))
    return int(result.rowcount)  # type: ignore[attr-defined]


def identity_for_session(session: Session, cookie: str) -> Identity | None:
    """Who holds this session cookie, if it is current and their account active."""
    row = session.execute(
        select(User, UserSession.csrf_token)
        .join(UserSession, UserSession.user_id == User.id)
        .where(UserSession.token_hash == _digest(cookie), UserSession.expires_at > utcnow())
    ).first()
    if row is None or not row[0].active:
        return None
    return _identity(row[0], via="session", csrf_token=row[1])


def create_api_token(session: Session, user: User, *, name: str) -> str:
    """A new API token for ``user``; the only time its secret is shown. Its name is what the
    token is for, trimmed to the 200 characters kept."""
    secret = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    label = name.strip()[:200]
    session.add(
        ApiToken(token_hash=_digest(secret), prefix=secret[:12], user_id=user.id, name=label)
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
        .where(ApiToken.token_hash == _digest(secret))
    ).first()
    if row is None or not row[0].active:
        return None
    note_api_token_use(session, row[1], now=now)
    return _identity(row[0], via="token")


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


def _identity(user: User, *, via: str, csrf_token: str = "") -> Identity:
    return Identity(
        user_id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        timezone=user.timezone,
        via=via,
        csrf_token=csrf_token,
    )


def all_users(session: Session) -> list[User]:
    """Every account, admins first, then by email."""
    return list(session.scalars(select(User).order_by(User.role, User.email)))


def find_user(session: Session, email: str) -> User | None:
    """The account with this email, if any."""
    return session.scalar(select(User).where(User.email == normalise_email(email)))
