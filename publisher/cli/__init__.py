"""The ``herald`` command: one module per command group, and the processes it starts.

:func:`main` is the console script's entry point. It loads the settings before importing
the commands, because importing them configures Celery from the settings: an invalid
setting is then one clear line, not a traceback from inside an import.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Entry point of the ``herald`` console script."""
    from pydantic import ValidationError

    from core.settings import get_settings, settings_problems

    try:
        get_settings()
    except ValidationError as error:
        sys.stderr.write(f"error: the settings do not load: {settings_problems(error)}\n")
        raise SystemExit(2) from None
    from publisher.cli.main import main as run_command

    run_command()
