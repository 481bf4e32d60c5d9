"""``herald campaigns``: list, show, send, pause, resume and cancel campaigns."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime

import typer
from sqlalchemy.orm import Session

from core.database import unit_of_work
from publisher.campaigns import (
    CampaignError,
    cancel_campaign,
    get_campaign,
    pause_campaign,
    recent_campaigns,
    resume_campaign,
    start_sending,
)
from publisher.models import Campaign
from publisher.progress import CampaignProgress, campaign_progress, duration_text

campaigns_app = typer.Typer(
    help="List, show, send, pause, resume and cancel campaigns.", no_args_is_help=True
)
JSON_OUT = typer.Option(False, "--json", help="Print JSON instead of text.")
BAR_WIDTH = 30


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
    """One campaign's progress: deliveries per status, percent done, rate and ETA."""
    item = _progress(campaign_id)
    typer.echo(item.model_dump_json(indent=2) if as_json else _block(item))


@campaigns_app.command("pause")
def pause(campaign_id: int) -> None:
    """Pause a sending campaign: no new batch starts; batches in flight finish."""
    _control(pause_campaign, campaign_id, "paused")


@campaigns_app.command("resume")
def resume(campaign_id: int) -> None:
    """Resume a paused campaign (a worker must be running)."""
    _control(resume_campaign, campaign_id, "sending again")


@campaigns_app.command("cancel")
def cancel(campaign_id: int) -> None:
    """Cancel a campaign for good: its queued messages are never sent."""
    _control(cancel_campaign, campaign_id, "cancelled")


def _control(action: Callable[[Session, int], Campaign], campaign_id: int, done: str) -> None:
    try:
        with unit_of_work() as session:
            action(session, campaign_id)
    except CampaignError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error
    typer.echo(f"campaign {campaign_id} is {done}")


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


def _block(item: CampaignProgress) -> str:
    """A few readable lines: what it is, how far it got, how fast, what went wrong."""
    filled = round(BAR_WIDTH * item.percent_done / 100)
    lines = [
        f"campaign {item.id} · {item.kind} · {item.status}",
        f"subject   {item.subject or '(no subject)'}",
        f"progress  [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {item.percent_done:.1f}%  "
        f"{item.sent}/{item.total} sent",
        f"          {item.failed} failed · {item.unknown} unknown · {item.skipped} skipped · "
        f"{item.cancelled} cancelled · {item.queued} queued · {item.sending} in flight",
        f"rate      {item.rate_per_s:g} messages/s · ETA {duration_text(item.eta_seconds)}",
        f"started   {_when(item.started_at)} · finished {_when(item.finished_at)}",
    ]
    if item.error:
        lines.append(f"error     {item.error}")
    return "\n".join(lines)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "—"


def _line(item: CampaignProgress) -> str:
    return (
        f"{item.id:>5}  {item.kind:<12} {item.status:<9} {item.sent}/{item.total} sent, "
        f"{item.failed} failed, {item.unknown} unknown  {item.subject}"
    )
