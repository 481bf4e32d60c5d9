"""Every check of ``herald doctor`` in order, and what the report means for its exit code."""

from __future__ import annotations

from collections.abc import Sequence

from alembic.config import Config

from core.doctor.checks import (
    Check,
    Level,
    broker_reachable,
    database_revision,
    web_healthy,
)
from core.doctor.domain import TxtLookup, dns_checks
from core.doctor.provider import provider_checks
from core.settings import Settings


def all_checks(
    settings: Settings, *, migrations: Config, lookup: TxtLookup | None = None
) -> list[Check]:
    """Database and migrations (``migrations``: Alembic's configuration), broker, provider
    credentials, the From domain's records (through ``lookup``, else DNS) and /healthz."""
    return [
        database_revision(settings, migrations),
        broker_reachable(settings),
        *provider_checks(settings),
        *dns_checks(settings, lookup),
        web_healthy(settings),
    ]


def failed(checks: Sequence[Check]) -> bool:
    """Whether any check failed (``herald doctor`` then exits non-zero)."""
    return any(check.level == Level.FAIL for check in checks)


def report_line(check: Check) -> str:
    """``ok    database     postgresql://…: migrations at head 0042``: one line per check."""
    return f"{check.level:<5} {check.name:<18} {check.reason}"
