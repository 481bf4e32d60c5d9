"""``herald stats [ID]``: delivery statistics of campaigns, as text, JSON or CSV."""

from __future__ import annotations

import typer


def stats(campaign_id: int | None = typer.Argument(None, help="A campaign's id.")) -> None:
    """Delivery statistics (filled in by the statistics work)."""
    raise typer.Exit(1)
