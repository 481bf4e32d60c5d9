"""Foundations: settings refuse unsafe production values, packages depend one way only, the
migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from pydantic import ValidationError

from core.settings import DEVELOPMENT_SECRET_KEY, Settings
from publisher.schema import metadata
from tests.fixtures.paths import ROOT

LAYERS = ["core", "subscribers", "publisher", "worker"]


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ValidationError, match="HERALD_SECRET_KEY"):
        Settings(env="production")


def test_production_accepts_real_secrets() -> None:
    settings = Settings(env="production", secret_key="k" * 40)
    assert settings.secret_key != DEVELOPMENT_SECRET_KEY


def test_defaults_are_the_embedded_ones() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.provider == "outbox"
    assert settings.is_sqlite


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", LAYERS)
def test_dependencies_point_one_way(package: str) -> None:
    above = set(LAYERS[LAYERS.index(package) + 1 :]) | ({"worker"} - {package})
    for path in (ROOT / package).rglob("*.py"):
        wrong = _imports(path) & above
        assert not wrong, f"{path.relative_to(ROOT)} imports {sorted(wrong)}"


def test_migrations_match_the_models(db: str) -> None:
    engine = sa.create_engine(db)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    engine.dispose()
    assert differences == []
