"""Whether this process can do its work: the database, its migrations, the broker.

Each check answers a name when it fails and logs why; callers show the names only, never
the error, which can carry a host name, a user or a path. The database and migration checks
are reused for ``readiness_cache_seconds`` (load balancers ask every few seconds); the
broker is asked each time, with a short timeout, because it is the one that comes and goes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from sqlalchemy import text

from core.celery_app import celery_app
from core.database import ping, unit_of_work
from core.settings import get_settings

BROKER_TIMEOUT_SECONDS = 2.0

log = logging.getLogger(__name__)

_cache_lock = threading.Lock()
_cached: tuple[float, str, list[str]] | None = None  # (checked at, database url, failures)


def database_answers() -> bool:
    """Whether the database answers a trivial query (the failure is logged)."""
    try:
        with unit_of_work(web=True) as session:
            ping(session)
    except Exception:  # any failure to answer means not ready; the reason goes to the log
        log.warning("health: the database does not answer", exc_info=True)
        return False
    return True


def migrations_at_head(heads: Sequence[str]) -> bool:
    """Whether the database's Alembic revision is ``heads``, the code's (a difference is
    logged). The caller knows where the migrations are: they belong to the schema's owner."""
    try:
        with unit_of_work(web=True) as session:
            # Alembic's own table, read directly: its migration context logs on every use.
            current = set(session.scalars(text("SELECT version_num FROM alembic_version")))
    except Exception:
        log.warning("health: the database's revision cannot be read", exc_info=True)
        return False
    if current != set(heads):
        log.warning("health: database at %s, code at %s", sorted(current), list(heads))
        return False
    return True


def broker_answers() -> bool:
    """Whether the broker accepts a connection within a short timeout (the failure is logged)."""
    error = broker_error(get_settings().broker_url, BROKER_TIMEOUT_SECONDS)
    if error is not None:
        log.warning("health: the broker does not answer", exc_info=error)
        return False
    return True


def broker_error(url: str, timeout: float, *, retries: int = 0) -> Exception | None:
    """Why the broker at ``url`` takes no connection within ``timeout`` (after ``retries``
    more tries), or None when it does; ``/readyz`` and ``herald doctor`` both ask this."""
    try:
        with celery_app.connection_for_read(url, connect_timeout=timeout) as connection:
            connection.ensure_connection(max_retries=retries, timeout=timeout)
    except Exception as error:  # kombu raises each transport's own errors
        return error
    return None


def failing_checks(heads: Sequence[str]) -> list[str]:
    """The names of the checks that fail now ("database", "migrations", "broker")."""
    return [*_database_failures(heads), *([] if broker_answers() else ["broker"])]


def forget_cached_checks() -> None:
    """Check the database afresh on the next call (it changed under this process)."""
    global _cached
    with _cache_lock:
        _cached = None


def _database_failures(heads: Sequence[str]) -> list[str]:
    global _cached
    settings = get_settings()
    now = time.monotonic()
    with _cache_lock:
        cached = _cached
        fresh = cached and cached[1] == settings.database_url
        if cached and fresh and now - cached[0] < settings.readiness_cache_seconds:
            return cached[2]
    failures: list[str] = []
    if not database_answers():
        failures.append("database")
    elif not migrations_at_head(heads):
        failures.append("migrations")
    with _cache_lock:
        _cached = (now, settings.database_url, failures)
    return failures
