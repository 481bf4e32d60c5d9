"""The benchmarks' databases: a fresh PostgreSQL database per case, dropped after it."""

from __future__ import annotations

import os
import uuid

import sqlalchemy as sa

from core.database import dispose_engines
from core.settings import get_settings

PG_SERVER = os.environ.get(
    "HERALD_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def fresh_postgres() -> str:
    """The URL of a new, empty database on the PostgreSQL server."""
    name = f"herald_bench_{uuid.uuid4().hex[:8]}"
    _run_on_server(f'CREATE DATABASE "{name}"')
    return sa.make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False)


def drop_postgres(database: str) -> None:
    """Drop a database :func:`fresh_postgres` made (its connections are closed first)."""
    dispose_engines()
    _run_on_server(f'DROP DATABASE IF EXISTS "{sa.make_url(database).database}" WITH (FORCE)')


def point_at(database: str) -> None:
    """Make this process's settings and engines use ``database``."""
    os.environ["HERALD_DATABASE_URL"] = database
    get_settings.cache_clear()
    dispose_engines()


def _run_on_server(statement: str) -> None:
    admin = sa.create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(statement))
    admin.dispose()
