"""``herald segments``: Segments: lists filtered by attributes, language and engagement."""

from __future__ import annotations

import typer

segments_app = typer.Typer(
    help="Segments: lists filtered by attributes, language and engagement.", no_args_is_help=True
)
