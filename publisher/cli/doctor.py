"""``herald doctor``: check that this install can send, one line per check, before it has to.

The checks themselves live in :mod:`core.doctor`; this command loads the settings, hands the
checks Alembic's configuration as ``herald migrate`` builds it, and prints the report.
"""

from __future__ import annotations

import logging

import typer

from core.doctor.checks import load_settings
from core.doctor.report import all_checks, failed, report_line
from core.settings import get_settings
from publisher.schema_versions import alembic_config


def doctor() -> None:
    """Check settings, database and migrations, broker, provider credentials, the From
    domain's SPF, DKIM and DMARC, and the web's /healthz; exits 1 when a check fails."""
    # The report is the output: the libraries' INFO lines (Alembic's context) would only
    # interleave with it on stderr.
    logging.getLogger().setLevel(max(logging.WARNING, logging.getLogger().level))
    loaded, settings = load_settings(get_settings)
    checks = [loaded]
    if settings is not None:
        checks += all_checks(settings, migrations=alembic_config())
    for check in checks:
        typer.echo(report_line(check))
    raise typer.Exit(1 if failed(checks) else 0)
