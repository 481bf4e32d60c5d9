"""``herald campaigns``: list, show and send campaigns from the command line."""

from __future__ import annotations

import json
import time

import typer

from core.database import unit_of_work
from publisher.campaigns import CampaignError, get_campaign, recent_campaigns, start_sending
from publisher.progress import CampaignProgress, campaign_progress

campaigns_app = typer.Typer(help="List, show and send campaigns.", no_args_is_help=True)
JSON_OUT = typer.Option(False, "--json", help="Print JSON instead of text.")


@campaigns_app.command("list")
def list_campaigns(as_json: bool = JSON_OUT) -> None:
    """The newest campaigns with their delivery counts."""
    with unit_of_work() as session:
        progress = campaign_progress(session, recent_campaigns(session))
    if as_json:
        typer.echo(json.dumps([item.model_dump(mode="json") for item in progress], indent=2))
        return
    for item in progress:
        typer.echo(_line(item))


@campaigns_app.command("show")
def show(campaign_id: int, as_json: bool = JSON_OUT) -> None:
    """One campaign: status, total, sent, failed, unknown."""
    item = _progress(campaign_id)
    typer.echo(item.model_dump_json(indent=2) if as_json else _line(item))


@campaigns_app.command("send")
def send(
    campaign_id: int,
    wait: bool = typer.Option(False, "--wait", help="Wait until the campaign has finished."),
) -> None:
    """Start sending a draft or scheduled campaign now (a worker must be running)."""
    try:
        with unit_of_work() as session:
            start_sending(session, get_campaign(session, campaign_id))
    except CampaignError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    typer.echo(f"campaign {campaign_id} is sending")
    while wait:
        item = _progress(campaign_id)
        if item.status not in ("sending", "scheduled"):
            typer.echo(_line(item))
            raise typer.Exit(0 if item.status == "sent" else 1)
        time.sleep(1)


def _progress(campaign_id: int) -> CampaignProgress:
    try:
        with unit_of_work() as session:
            return campaign_progress(session, [get_campaign(session, campaign_id)])[0]
    except CampaignError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error


def _line(item: CampaignProgress) -> str:
    return (
        f"{item.id:>5}  {item.kind:<12} {item.status:<9} {item.sent}/{item.total} sent, "
        f"{item.failed} failed, {item.unknown} unknown  {item.subject}"
    )
