"""``herald lists``: Lists: create them, show their counts."""

from __future__ import annotations

import typer

lists_app = typer.Typer(
    help="Lists: create them, show their counts.",
    no_args_is_help=True,
)
