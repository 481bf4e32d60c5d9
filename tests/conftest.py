"""Shared fixtures: a migrated database per test (SQLite, and PostgreSQL where reachable),
Redis, settings pointed at temporary folders.

PostgreSQL and Redis are the real servers of this machine (HERALD_TEST_DATABASE_URL,
HERALD_TEST_REDIS_URL). Where one is unreachable its tests are skipped loudly — unless
HERALD_TEST_REQUIRE_SERVICES=1 (CI), where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from core.database import dispose_engines, unit_of_work
from core.settings import get_settings
from publisher.cli.processes import migrate

pytest_plugins = [
    "tests.fixtures.browser",
    "tests.fixtures.dns_server",
    "tests.fixtures.mailroom",
    "tests.fixtures.tasks",
    "tests.fixtures.web",
]

PG_URL = os.environ.get(
    "HERALD_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("HERALD_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
REQUIRE_SERVICES = os.environ.get("HERALD_TEST_REQUIRE_SERVICES") == "1"
_unreachable: list[str] = []


def service_unavailable(name: str, error: Exception) -> None:
    """Fail (CI) or skip loudly when a real service the test needs cannot be reached."""
    message = f"{name} unreachable: {error}"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message} (HERALD_TEST_REQUIRE_SERVICES=1)")
    _unreachable.append(message)
    pytest.skip(message)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _unreachable:
        terminalreporter.section("SERVICES UNREACHABLE: tests were SKIPPED, not passed", red=True)
        for message in sorted(set(_unreachable)):
            terminalreporter.line(message, red=True)


def use_settings(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    """Point HERALD_* settings at ``values`` for this test."""
    for name, value in values.items():
        monkeypatch.setenv(f"HERALD_{name.upper()}", value)
    get_settings.cache_clear()
    dispose_engines()


@pytest.fixture(autouse=True)
def _test_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    use_settings(
        monkeypatch,
        env="test",
        outbox_dir=str(tmp_path / "outbox"),
        base_url="http://testserver",
        database_url=f"sqlite:///{tmp_path}/unset.sqlite",
        broker_url=f"sqla+sqlite:///{tmp_path}/broker.sqlite",
    )
    yield
    get_settings.cache_clear()
    dispose_engines()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "herald.sqlite"
    _migrate(f"sqlite:///{path}")
    return path


def _migrate(url: str) -> None:
    os.environ["HERALD_DATABASE_URL"] = url
    get_settings.cache_clear()
    migrate()
    dispose_engines()
    del os.environ["HERALD_DATABASE_URL"]
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def _pg_database() -> Iterator[str]:
    server = sa.make_url(PG_URL)
    name = f"herald_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as error:
        admin.dispose()
        yield f"unreachable:{error}"
        return
    url = server.set(database=name).render_as_string(hide_password=False)
    _migrate(url)
    yield url
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_all(url: str) -> None:
    engine = sa.create_engine(url)
    tables = ", ".join(
        name for name in sa.inspect(engine).get_table_names() if name != "alembic_version"
    )
    with engine.begin() as connection:
        connection.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def sqlite_db(_sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A freshly migrated SQLite database for this test; settings point at it."""
    path = tmp_path / "herald.sqlite"
    shutil.copy(_sqlite_template, path)
    url = f"sqlite:///{path}"
    use_settings(monkeypatch, database_url=url)
    return url


@pytest.fixture
def pg_db(_pg_database: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The migrated PostgreSQL test database, emptied after the test; settings point at it."""
    if _pg_database.startswith("unreachable:"):
        service_unavailable("PostgreSQL", Exception(_pg_database.removeprefix("unreachable:")))
    use_settings(monkeypatch, database_url=_pg_database)
    yield _pg_database
    dispose_engines()
    _truncate_all(_pg_database)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest) -> str:
    """Each database Herald supports, in turn."""
    fixture = "sqlite_db" if request.param == "sqlite" else "pg_db"
    return str(request.getfixturevalue(fixture))


@pytest.fixture
def redis_url() -> str:
    """The test Redis database, flushed first."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    except redis.RedisError as error:
        service_unavailable("Redis", error)
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def session(db: str) -> Iterator[sa.orm.Session]:
    """A session on the test database; the test commits what it wants to be seen."""
    with unit_of_work() as db_session:
        yield db_session
