"""``herald config``: Herald's settings as an operator reads them."""

from __future__ import annotations

from pathlib import Path

import typer

from core.settings_example import render, write

config_app = typer.Typer(help="Herald's settings.", no_args_is_help=True)


@config_app.command("example")
def example(
    output: Path | None = typer.Option(None, help="Write the file here instead of printing it."),
) -> None:
    """Every setting with its meaning and default, as .env.example holds them."""
    if output is None:
        typer.echo(render(), nl=False)
        return
    write(output)
    typer.echo(f"wrote {output}", err=True)
