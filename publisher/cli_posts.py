"""``herald posts``: Posts: import, list, show, submit, approve, publish."""

from __future__ import annotations

import typer

posts_app = typer.Typer(
    help="Posts: import, list, show, submit, approve, publish.", no_args_is_help=True
)
