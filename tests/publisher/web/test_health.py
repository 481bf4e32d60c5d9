"""Health: /livez asks nothing, /readyz names what fails (never why), /healthz hides errors.

The broker test runs a redis-server of its own as the broker, stops it and starts it again.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from core import health
from core.database import unit_of_work
from publisher.schema_versions import code_heads
from publisher.web.app import create_app
from tests.conftest import use_settings
from tests.fixtures.processes import free_port, redis_server


@pytest.fixture(autouse=True)
def _no_cached_checks() -> None:
    # Each test sees its own database: no answer kept from the one before.
    health.forget_cached_checks()


def test_livez_and_readyz_answer_ok_on_a_migrated_database(client: TestClient) -> None:
    assert client.get("/livez").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ok", "failing": []})


def test_livez_answers_while_the_database_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    use_settings(monkeypatch, database_url=f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/x")
    client = TestClient(create_app())
    assert client.get("/livez").status_code == 200
    ready = client.get("/readyz")
    assert (ready.status_code, ready.json()["failing"]) == (503, ["database"])
    old = client.get("/healthz")
    assert (old.status_code, old.json()) == (503, {"status": "error", "database": "error"})
    assert "127.0.0.1" not in old.text + ready.text and "nobody" not in old.text + ready.text


def test_readyz_fails_on_migrations_behind_the_code(
    sqlite_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with unit_of_work() as session:
        session.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    use_settings(monkeypatch, readiness_cache_seconds="60")
    client = TestClient(create_app())
    ready = client.get("/readyz")
    assert (ready.status_code, ready.json()["failing"]) == (503, ["migrations"])
    with unit_of_work() as session:
        session.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": _head()})
    assert client.get("/readyz").status_code == 503  # kept for readiness_cache_seconds
    health.forget_cached_checks()
    assert client.get("/readyz").status_code == 200


def _head() -> str:
    (head,) = code_heads()
    return head


def test_readyz_fails_while_the_broker_is_down_and_recovers(
    sqlite_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with redis_server(tmp_path) as broker:
        use_settings(monkeypatch, broker_url=broker.url)
        client = TestClient(create_app())
        assert client.get("/readyz").status_code == 200
        broker.stop()
        down = client.get("/readyz")
        assert (down.status_code, down.json()) == (
            503,
            {"status": "unavailable", "failing": ["broker"]},
        )
        assert "Connection refused" not in down.text and str(broker.port) not in down.text
        broker.start()
        assert client.get("/readyz").status_code == 200
