"""Database engine, sessions and the declarative base shared by every domain package.

Services receive a Session and never commit; the unit of work (a request, a task, a CLI
command) commits once at its end through :func:`unit_of_work`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from core.settings import VAR_DIR, get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


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


def get_engine(url: str | None = None) -> Engine:
    """The engine for ``url`` (default: the configured database), created once per process."""
    url = url or get_settings().database_url
    engine = _engines.get(url)
    if engine is None:
        if url.startswith("sqlite"):
            VAR_DIR.mkdir(exist_ok=True)
            engine = create_engine(url, connect_args={"timeout": 30})
            _configure_sqlite(engine)
        else:
            engine = create_engine(url, pool_pre_ping=True)
        _engines[url] = engine
    return engine


def dispose_engines() -> None:
    """Close every pooled connection (after a fork, or between tests)."""
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


def new_session(url: str | None = None) -> Session:
    """A new session on the configured database; the caller owns its transaction."""
    return sessionmaker(bind=get_engine(url), expire_on_commit=False)()


@contextmanager
def unit_of_work(url: str | None = None) -> Iterator[Session]:
    """One unit of work: commit once if the block succeeds, roll back if it raises."""
    session = new_session(url)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def insert_ignoring_conflicts(session: Session, table: Any, *, index_elements: list[str]) -> Any:
    """``INSERT … ON CONFLICT (index_elements) DO NOTHING`` for the session's dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=index_elements)
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=index_elements)
