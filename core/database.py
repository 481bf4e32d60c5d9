"""Database engine, sessions and the declarative base shared by every domain package.

Services receive a Session and never commit; the unit of work (a request, a task, a CLI
command) commits once at its end through :func:`unit_of_work`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Engine,
    Integer,
    MetaData,
    create_engine,
    event,
    make_url,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from core.settings import get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity. Used for
# ids and counters that outgrow 32 bits.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """Declarative base with a naming convention so migrations name constraints stably."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite stores it naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


_engines: dict[str, Engine] = {}


def _configure_sqlite(engine: Engine) -> None:
    # WAL lets the web process read while a worker writes; the busy timeout makes
    # concurrent writers (several worker processes) wait instead of failing.
    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


def get_engine(url: str | None = None, *, web: bool = False) -> Engine:
    """The engine for ``url`` (default: the configured database), created once per process.

    ``web`` engines (PostgreSQL) bound how long a request's statements wait for a lock and
    run (``HERALD_WEB_LOCK_TIMEOUT_MS``, ``HERALD_WEB_STATEMENT_TIMEOUT_MS``): a request
    stuck behind a lock holds a thread and a connection, and enough of them stop the server.
    """
    url = url or get_settings().database_url
    web = web and not url.startswith("sqlite")
    key = f"{url}#web" if web else url
    engine = _engines.get(key)
    if engine is None:
        if url.startswith("sqlite"):
            _make_folder_of(url)
            engine = create_engine(url, connect_args={"timeout": 30})
            _configure_sqlite(engine)
        else:
            connect_args = {"options": _web_timeouts()} if web else {}
            engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args)
        _engines[key] = engine
    return engine


def _make_folder_of(sqlite_url: str) -> None:
    """Create the folder of a SQLite file (the data directory on first use)."""
    database = make_url(sqlite_url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _web_timeouts() -> str:
    settings = get_settings()
    lock, statement = settings.web_lock_timeout_ms, settings.web_statement_timeout_ms
    return f"-c lock_timeout={lock} -c statement_timeout={statement}"


def dispose_engines() -> None:
    """Close every pooled connection (after a fork, or between tests)."""
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


def new_session(url: str | None = None, *, web: bool = False) -> Session:
    """A new session on the configured database; the caller owns its transaction."""
    return sessionmaker(bind=get_engine(url, web=web), expire_on_commit=False)()


@contextmanager
def unit_of_work(url: str | None = None, *, web: bool = False) -> Iterator[Session]:
    """One unit of work: commit once if the block succeeds, roll back if it raises.

    ``web`` units (a web request's) have the web lock and statement timeouts.
    """
    session = new_session(url, web=web)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def ping(session: Session) -> None:
    """Ask the database for nothing: raises when it does not answer."""
    session.execute(text("SELECT 1"))


def is_lock_timeout(error: BaseException) -> bool:
    """Whether a database error means a lock or statement wait ran out (try again later)."""
    original = getattr(error, "orig", None)
    if getattr(original, "sqlstate", None) in ("55P03", "57014"):
        return True  # PostgreSQL lock_not_available, query_canceled (statement_timeout)
    return "database is locked" in str(original or "")


def insert_ignoring_conflicts(session: Session, table: Any, *, index_elements: list[str]) -> Any:
    """``INSERT … ON CONFLICT (index_elements) DO NOTHING`` for the session's dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=index_elements)
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=index_elements)
