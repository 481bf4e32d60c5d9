"""``herald doctor``: check that this install can send, one line per check, before it has to.

The checks themselves live in :mod:`core.doctor`; this command loads the settings, hands the
checks Alembic's configuration as ``herald migrate`` builds it, and prints the report.
"""

from __future__ import annotations

import typer

from core.doctor.checks import load_settings
from core.doctor.report import all_checks, failed, report_line
from core.settings import get_settings
from publisher.cli import processes


def doctor() -> None:
    """Check settings, database and migrations, broker, provider credentials, the From
    domain's SPF, DKIM and DMARC, and the web's /healthz; exits 1 when a check fails."""
    loaded, settings = load_settings(get_settings)
    checks = [loaded]
    if settings is not None:
        checks += all_checks(settings, migrations=processes.alembic_config())
    for check in checks:
        typer.echo(report_line(check))
    raise typer.Exit(1 if failed(checks) else 0)
