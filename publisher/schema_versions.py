"""The schema's migrations: Alembic's configuration and the revision the code expects.

The migrations are package data (``publisher.migrations``), so the configuration is built
here rather than read from alembic.ini (kept for developers' own ``alembic`` commands): an
installed Herald finds them whatever its working directory. ``herald migrate`` upgrades
through it, ``herald doctor`` and ``/readyz`` compare its head with the database's revision.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from alembic.config import Config
from alembic.script import ScriptDirectory

from core.settings import get_settings


def alembic_config() -> Config:
    """Alembic's configuration for the configured database."""
    config = Config()
    config.set_main_option("script_location", str(resources.files("publisher.migrations")))
    config.attributes["database_url"] = get_settings().database_url
    return config


@lru_cache(maxsize=1)
def code_heads() -> tuple[str, ...]:
    """The head revisions of the code's migrations (read once: they do not change)."""
    return tuple(ScriptDirectory.from_config(alembic_config()).get_heads())
