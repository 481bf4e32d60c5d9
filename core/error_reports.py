"""Errors reported to Sentry, when ``HERALD_SENTRY_DSN`` is set and the ``sentry`` extra is in.

Optional by design: ``pip install 'herald[sentry]'`` brings the SDK; without it, or without a
DSN, nothing is sent and one log line says why.
"""

from __future__ import annotations

import importlib.util
import logging

from core.settings import Settings

log = logging.getLogger(__name__)

_started_with = ""


def start_error_reports(settings: Settings) -> bool:
    """Start reporting errors to Sentry if configured and installed; whether it runs."""
    global _started_with
    if not settings.sentry_dsn:
        return False
    if settings.sentry_dsn == _started_with:
        return True  # the app factory runs more than once in one process
    if importlib.util.find_spec("sentry_sdk") is None:
        log.warning(
            "HERALD_SENTRY_DSN is set but sentry-sdk is not installed "
            "(pip install 'herald[sentry]'): errors are not reported"
        )
        return False
    import sentry_sdk

    # Its default integrations cover FastAPI, Celery, SQLAlchemy and logging (errors).
    sentry_sdk.init(dsn=settings.sentry_dsn, environment=settings.env, send_default_pii=False)
    _started_with = settings.sentry_dsn
    log.info("errors are reported to Sentry")
    return True
