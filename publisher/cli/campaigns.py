"""``herald campaigns``: create, list, show, check, preview, test, schedule, send, pause,
resume and cancel campaigns."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import NoReturn

import typer
from sqlalchemy.orm import Session

from core.database import unit_of_work, utcnow
from core.mime import encode_part
from publisher.campaigns.checks import CampaignBlocked, Finding, HtmlSize, check_campaign
from publisher.campaigns.drafts import DraftFields, create_draft
from publisher.campaigns.launch import schedule_for, send_now
from publisher.campaigns.models import Campaign, CampaignKind, CampaignStatus
from publisher.campaigns.preview import preview_campaign
from publisher.campaigns.progress import CampaignProgress, campaign_progress, duration_text
from publisher.campaigns.proofs import request_test_send
from publisher.campaigns.queries import recent_campaigns
from publisher.campaigns.scheduling import parse_moment
from publisher.campaigns.service import (
    CampaignError,
    cancel_campaign,
    get_campaign,
    pause_campaign,
    resume_campaign,
)

campaigns_app = typer.Typer(
    help="Create, check, preview, schedule, send and control campaigns.", no_args_is_help=True
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
    """Start sending a draft or scheduled campaign now, if its checks allow (a worker must be
    running); with --wait, show its progress until it is done."""
    try:
        with unit_of_work() as session:
            warnings = send_now(session, get_campaign(session, campaign_id), actor="cli")
    except CampaignError as error:
        _refuse(error)
    _print_findings(warnings)
    typer.echo(f"campaign {campaign_id} is sending")
    while wait:
        item = _progress(campaign_id)
        if item.status not in (CampaignStatus.SENDING, CampaignStatus.SCHEDULED):
            typer.echo(_line(item))
            raise typer.Exit(0 if item.status == CampaignStatus.SENT else 1)
        typer.echo(f"  {item.percent_done:5.1f}%  {item.sent}/{item.total} sent", err=True)
        time.sleep(1)


@campaigns_app.command("create")
def create(
    kind: str = typer.Option(..., "--kind", help="announcement or digest."),
    lists: list[str] = typer.Option(..., "--list", help="A list's slug (repeat for more)."),
    posts: list[int] = typer.Option([], "--post", help="A post id, in order (repeat)."),
    subject: str = typer.Option("", help="Subject (default: from the posts)."),
    language: str = typer.Option("en", help="The campaign's default language."),
    local_time: bool = typer.Option(False, "--local-time", help="Same local hour for all."),
    segment: int | None = typer.Option(None, "--segment", help="Only this segment's members."),
    no_track_opens: bool = typer.Option(False, "--no-track-opens"),
    no_track_clicks: bool = typer.Option(False, "--no-track-clicks"),
) -> None:
    """Create a draft campaign and print its id. A digest without --post carries the posts
    published since the lists' last digest."""
    fields = DraftFields(
        kind=kind,
        list_slugs=lists,
        post_ids=posts,
        subject=subject,
        language=language,
        track_opens=not no_track_opens,
        track_clicks=not no_track_clicks,
        local_time=local_time,
        segment_id=segment,
        since_last_digest=kind == CampaignKind.DIGEST and not posts,
    )
    try:
        with unit_of_work() as session:
            campaign_id = create_draft(session, fields, now=utcnow()).id
    except CampaignError as error:
        _refuse(error)
    typer.echo(str(campaign_id))


@campaigns_app.command("schedule")
def schedule(
    campaign_id: int,
    at: str = typer.Option(..., "--at", help="ISO 8601 with an offset, or a wall time + --zone."),
    zone: str | None = typer.Option(None, "--zone", help="IANA zone, e.g. Europe/Kyiv."),
) -> None:
    """Schedule a draft campaign, if its checks allow. A time without an offset needs --zone."""
    try:
        moment = parse_moment(at, zone)
        with unit_of_work() as session:
            campaign = get_campaign(session, campaign_id)
            shown_in = zone or "UTC"
            warnings = schedule_for(session, campaign, moment, zone=shown_in, actor="cli")
            starts = campaign.scheduled_at
    except CampaignError as error:
        _refuse(error)
    _print_findings(warnings)
    typer.echo(f"campaign {campaign_id} is scheduled; it starts at {_when(starts)}")


@campaigns_app.command("check")
def check(campaign_id: int, as_json: bool = JSON_OUT) -> None:
    """Run the checks and show each language's HTML size; exits 1 when one blocks sending."""
    try:
        with unit_of_work() as session:
            report = check_campaign(session, get_campaign(session, campaign_id))
    except CampaignError as error:
        _refuse(error)
    findings = report.findings
    if as_json:
        shown = {
            "findings": [vars_of(finding) for finding in findings],
            "sizes": [asdict(size) for size in report.sizes],
        }
        typer.echo(json.dumps(shown, indent=2))
    else:
        for size in report.sizes:
            typer.echo(size_line(size))
        if findings:
            _print_findings(findings)
        else:
            typer.echo("all checks pass")
    raise typer.Exit(1 if any(finding.level == "block" for finding in findings) else 0)


@campaigns_app.command("preview")
def preview(
    campaign_id: int,
    email: str | None = typer.Option(None, "--email", help="Render as this subscriber."),
    text: bool = typer.Option(False, "--text", help="The plain-text version."),
) -> None:
    """Print the campaign's HTML (or text) as a subscriber would get it."""
    try:
        with unit_of_work() as session:
            shown = preview_campaign(session, get_campaign(session, campaign_id), email=email)
    except CampaignError as error:
        _refuse(error)
    typer.echo(f"Subject: {shown.subject}\n\n{shown.text}" if text else shown.html)
    # On stderr, so the HTML on stdout stays a page one can save.
    part = encode_part(shown.html, "html")
    size = HtmlSize(shown.language, part.decoded_size, part.size, part.encoding)
    typer.echo(size_line(size), err=True)


@campaigns_app.command("test")
def test(
    campaign_id: int,
    to: str = typer.Option(..., "--to", help="Comma-separated addresses."),
) -> None:
    """Send a "[Test]" copy to the given addresses (a worker must be running)."""
    try:
        with unit_of_work() as session:
            sent_to = request_test_send(
                session, get_campaign(session, campaign_id), [to], actor="cli"
            )
    except CampaignError as error:
        _refuse(error)
    typer.echo(f"test of campaign {campaign_id} queued for {', '.join(sent_to)}")


def vars_of(finding: Finding) -> dict[str, str]:
    """A finding as JSON-ready values."""
    return {"level": finding.level, "code": finding.code, "message": finding.message}


def size_line(size: HtmlSize) -> str:
    """``html uk: 35.1 KB, 48.2 KB as sent (base64)``."""
    return (
        f"html {size.language}: {size.decoded_bytes / 1000:.1f} KB, "
        f"{size.encoded_bytes / 1000:.1f} KB as sent ({size.encoding})"
    )


def _print_findings(findings: list[Finding]) -> None:
    for finding in findings:
        typer.echo(f"{finding.level}: {finding.message}", err=True)


def _refuse(error: CampaignError) -> NoReturn:
    if isinstance(error, CampaignBlocked):
        for reason in error.reasons:
            typer.echo(f"blocked: {reason}", err=True)
    typer.echo(f"error: {error}", err=True)
    raise typer.Exit(2) from error


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
