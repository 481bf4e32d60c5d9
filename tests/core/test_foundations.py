"""Foundations: settings refuse unsafe production values, and the migrations build exactly the
schema the models describe, on SQLite and PostgreSQL. (Which package may import which is
tests/test_architecture.py's.)"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from pydantic import ValidationError

from core.settings import DEVELOPMENT_SECRET_KEY, Settings
from publisher.schema import metadata


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ValidationError, match="HERALD_SECRET_KEY"):
        Settings(env="production")


def test_production_accepts_real_secrets() -> None:
    settings = Settings(env="production", secret_key="k" * 40)
    assert settings.secret_key.get_secret_value() != DEVELOPMENT_SECRET_KEY


def test_defaults_are_the_embedded_ones() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.provider == "outbox"
    assert settings.is_sqlite


def test_migrations_match_the_models(db: str) -> None:
    engine = sa.create_engine(db)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    engine.dispose()
    assert differences == []
