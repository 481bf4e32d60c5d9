"""``herald doctor``'s checks of Herald's own parts, each against the real thing: settings
as they load, SQLite and PostgreSQL with their migrations, Redis, and the web app served."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from core.doctor.checks import (
    Level,
    broker_reachable,
    database_revision,
    load_settings,
    production_safety,
    web_healthy,
)
from core.settings import Settings, get_settings
from publisher.cli.processes import alembic_config
from publisher.web.app import app as web_app
from sandbox import serve_in_thread
from tests.fixtures.smtp_server import free_port

SAFE_KEY = "k" * 40


def test_settings_that_do_not_load_fail_with_the_reason() -> None:
    check, settings = load_settings(lambda: Settings(env="production"))
    assert settings is None and check.level == Level.FAIL
    assert "HERALD_SECRET_KEY must be set to a random value of 32+ characters" in check.reason
    check, settings = load_settings(lambda: Settings(pause_after_failures=0))  # type: ignore[arg-type]
    assert settings is None and "pause_after_failures" in check.reason


def test_production_refuses_the_outbox_and_warns_of_embedded_parts() -> None:
    outbox = production_safety(Settings(env="production", secret_key=SAFE_KEY))
    assert outbox.level == Level.FAIL and "no mail would leave" in outbox.reason
    embedded = production_safety(
        Settings(env="production", secret_key=SAFE_KEY, provider="resend", resend_api_key="k")
    )
    assert embedded.level == Level.WARN
    assert "SQLite" in embedded.reason and "broker is embedded" in embedded.reason
    assert production_safety(get_settings()).level == Level.OK


def test_a_database_at_the_migration_head_is_ok(db: str) -> None:
    check = database_revision(get_settings(), alembic_config())
    assert check.level == Level.OK, check.reason
    assert "migrations at head" in check.reason


def test_a_database_behind_the_code_asks_for_herald_migrate(sqlite_db: str) -> None:
    config = alembic_config()
    [head] = ScriptDirectory.from_config(config).get_heads()
    before = ScriptDirectory.from_config(config).get_revision(head).down_revision
    engine = create_engine(sqlite_db)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": before})
    engine.dispose()
    check = database_revision(get_settings(), config)
    assert check.level == Level.FAIL
    assert f"is at revision {before}, the code at {head}: run `herald migrate`" in check.reason


def test_an_empty_or_missing_database_fails(tmp_path: Path) -> None:
    config = alembic_config()
    missing = Settings(database_url=f"sqlite:///{tmp_path}/none.sqlite")
    check = database_revision(missing, config)
    assert check.level == Level.FAIL and "no database file at" in check.reason
    assert not (tmp_path / "none.sqlite").exists()
    sqlite3.connect(tmp_path / "empty.sqlite").close()
    empty = database_revision(Settings(database_url=f"sqlite:///{tmp_path}/empty.sqlite"), config)
    assert empty.level == Level.FAIL and "at revision none" in empty.reason


def test_a_database_server_that_does_not_answer_fails_without_its_password() -> None:
    url = f"postgresql+psycopg://herald:s3cret@127.0.0.1:{free_port()}/herald"
    check = database_revision(
        Settings(database_url=url, doctor_timeout_seconds=2), alembic_config()
    )
    assert check.level == Level.FAIL and "unreachable" in check.reason
    assert "s3cret" not in check.reason and "herald:***@127.0.0.1" in check.reason


def test_the_broker_takes_connections_or_is_reported(redis_url: str) -> None:
    assert broker_reachable(Settings(broker_url=redis_url)).level == Level.OK
    down = f"redis://127.0.0.1:{free_port()}/0"
    check = broker_reachable(Settings(broker_url=down, doctor_timeout_seconds=1))
    assert check.level == Level.FAIL and check.reason.startswith(f"{down} unreachable: ")


@pytest.fixture
def web_url(db: str) -> Iterator[str]:
    url, stop = serve_in_thread(web_app)
    yield url
    stop()


def test_the_public_url_serving_healthz_is_ok(web_url: str) -> None:
    check = web_healthy(Settings(base_url=web_url + "/"))
    assert check.level == Level.OK and check.reason == f"{web_url}/healthz answers 200"


def test_a_public_url_that_does_not_answer_fails_in_production_only() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert web_healthy(Settings(base_url=url)).level == Level.WARN
    production = Settings(base_url=url, env="production", secret_key=SAFE_KEY)
    check = web_healthy(production)
    assert check.level == Level.FAIL and f"{url}/healthz unreachable" in check.reason
