"""Alembic environment: migrates the configured database (SQLite or PostgreSQL)."""

from __future__ import annotations

from alembic import context

from core.database import get_engine
from publisher.schema import metadata

target_metadata = metadata


def run_migrations_online() -> None:
    """Run migrations on a live connection; batch mode lets SQLite alter tables."""
    url = context.config.attributes.get("database_url")
    connectable = context.config.attributes.get("connection") or get_engine(url)
    if hasattr(connectable, "connect") and not hasattr(connectable, "execute"):
        with connectable.connect() as connection:
            _configure_and_run(connection)
    else:
        _configure_and_run(connectable)


def _configure_and_run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
