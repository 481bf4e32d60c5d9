"""``herald subscribers``: Subscribers: show one, export their data, erase them."""

from __future__ import annotations

import typer

subscribers_app = typer.Typer(
    help="Subscribers: show one, export their data, erase them.", no_args_is_help=True
)
