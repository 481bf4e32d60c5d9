"""The checks of ``herald doctor`` on Herald's own parts: settings, the database and its
migrations, the broker, and whether the public URL serves ``/healthz``.

A check never raises for what it finds: every failure becomes a :class:`Check` with the
reason, so the operator sees every problem at once rather than the first one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import httpx
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from pydantic import ValidationError
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import SQLAlchemyError

from core.health import broker_error
from core.settings import Settings, settings_problems


class Level(StrEnum):
    """How a check went: ``fail`` makes ``herald doctor`` exit non-zero."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the report: what was checked, how it went, and why."""

    name: str
    level: Level
    reason: str


def ok(name: str, reason: str) -> Check:
    """A check that passed."""
    return Check(name, Level.OK, reason)


def warn(name: str, reason: str) -> Check:
    """A check that passed with a caveat worth the operator's attention."""
    return Check(name, Level.WARN, reason)


def fail(name: str, reason: str) -> Check:
    """A check that failed: this install cannot work as configured."""
    return Check(name, Level.FAIL, reason)


def fail_outside_production(settings: Settings, name: str, reason: str) -> Check:
    """A failure in production; only a warning on a development or test install."""
    return fail(name, reason) if settings.env == "production" else warn(name, reason)


def load_settings(read: Callable[[], Settings]) -> tuple[Check, Settings | None]:
    """The settings ``read`` returns, and whether they load (production's safety included)."""
    try:
        settings = read()
    except ValidationError as error:
        return fail("settings", settings_problems(error)), None
    return production_safety(settings), settings


def production_safety(settings: Settings) -> Check:
    """What a production install should not run with (the secret key is checked on load)."""
    if settings.env != "production":
        return ok("settings", f"loaded (HERALD_ENV={settings.env})")
    if settings.provider == "outbox":
        return fail("settings", "HERALD_PROVIDER=outbox in production: no mail would leave")
    caveats = []
    if settings.is_sqlite:
        caveats.append("the database is a SQLite file (use PostgreSQL to run several workers)")
    if settings.broker_url.startswith("sqla+"):
        caveats.append("the broker is embedded (use Redis to run several workers)")
    if not settings.base_url.startswith("https://"):
        caveats.append(f"HERALD_BASE_URL {settings.base_url} is not https")
    if caveats:
        return warn("settings", "loaded for production, but " + "; ".join(caveats))
    return ok("settings", "loaded for production")


def database_revision(settings: Settings, config: Config) -> Check:
    """Whether the database answers and its schema is at the code's migration head."""
    url = settings.database_url
    if settings.is_sqlite:
        path = make_url(url).database or ""
        if path and not Path(path).exists():
            return fail("database", f"no database file at {path}: run `herald migrate`")
    connect_args = {} if settings.is_sqlite else {"connect_timeout": _whole(settings)}
    engine = create_engine(url, connect_args=connect_args)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = set(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError as error:
        return fail("database", f"{redacted(url)} unreachable: {_first_line(error)}")
    finally:
        engine.dispose()
    heads = set(ScriptDirectory.from_config(config).get_heads())
    if current == heads:
        return ok("database", f"{redacted(url)} answers; migrations at head {_names(heads)}")
    return fail(
        "database",
        f"{redacted(url)} is at revision {_names(current) or 'none'}, the code at "
        f"{_names(heads)}: run `herald migrate`",
    )


def broker_reachable(settings: Settings) -> Check:
    """Whether the broker takes a connection within the doctor's timeout."""
    url = settings.broker_url
    error = broker_error(url, settings.doctor_timeout_seconds, retries=1)
    if error is not None:
        return fail("broker", f"{redacted(url)} unreachable: {_first_line(error)}")
    return ok("broker", f"{redacted(url)} takes connections")


def web_healthy(settings: Settings, transport: httpx.BaseTransport | None = None) -> Check:
    """Whether ``HERALD_BASE_URL`` serves ``/healthz`` (the web process, through any proxy)."""
    url = settings.base_url.rstrip("/") + "/healthz"
    try:
        with httpx.Client(timeout=settings.doctor_timeout_seconds, transport=transport) as client:
            answer = client.get(url)
    except httpx.HTTPError as error:
        reason = f"{url} unreachable: {type(error).__name__}: {error}"
        return fail_outside_production(settings, "web", reason)
    if answer.status_code != httpx.codes.OK:
        return fail_outside_production(
            settings, "web", f"{url} answered HTTP {answer.status_code}: {answer.text[:200]}"
        )
    return ok("web", f"{url} answers 200")


def redacted(url: str) -> str:
    """``url`` with its password hidden."""
    scheme, _, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    return f"{scheme}://{credentials.split(':')[0]}:***@{host}" if at else url


def _whole(settings: Settings) -> int:
    return max(1, round(settings.doctor_timeout_seconds))


def _names(revisions: set[str]) -> str:
    return ", ".join(sorted(revisions))


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
