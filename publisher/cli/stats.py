"""``herald stats [ID]``: delivery statistics of campaigns, as text, JSON or CSV.

Without an id: the recent campaigns, one line each. With one: every number of the campaign,
its busiest hours and its most clicked links. ``--rebuild`` recounts a campaign's aggregates
from its deliveries and events (a repair; it reads the whole campaign).
"""

from __future__ import annotations

import json

import typer
from sqlalchemy.orm import Session

from core.database import unit_of_work
from publisher.campaigns.models import Campaign, CampaignStatus
from publisher.stats import export, queries
from publisher.stats.rebuild import RebuildRefused, rebuild_campaign_stats

ROWS = (
    ("Recipients", "recipients", None),
    ("Sent", "sent", None),
    ("Delivered", "delivered", "delivered"),
    ("Deferred", "deferred", None),
    ("Bounced (hard)", "bounced_hard", None),
    ("Bounced (soft)", "bounced_soft", None),
    ("Bounced", "bounced", "bounced"),
    ("Complaints", "complained", "complained"),
    ("Opened (unique)", "opened", "opened"),
    ("Opens (people)", "opens", "opens"),
    ("Opens (machines)", "machine_opens", "machine_opens"),
    ("Clicked (unique)", "clicked", "clicked"),
    ("Clicks (people)", "clicks", "clicks"),
    ("Clicks (machines)", "machine_clicks", "machine_clicks"),
    ("Unsubscribed", "unsubscribed", "unsubscribed"),
)


def stats(
    campaign_id: int | None = typer.Argument(None, help="A campaign's id (none: recent ones)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV instead of text."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Recount the campaign first."),
) -> None:
    """Delivery statistics: delivered, opened, clicked, bounced, complaints, unsubscribes."""
    with unit_of_work() as session:
        if campaign_id is None:
            reports = queries.campaign_reports(session, queries.recent_campaigns(session))
            _print_many(reports, as_json=as_json, as_csv=as_csv)
            return
        if rebuild:
            _campaign(session, campaign_id)
            try:
                rebuild_campaign_stats(session, campaign_id)
            except RebuildRefused as error:
                typer.echo(f"Not rebuilt: {error}.", err=True)
                raise typer.Exit(1) from error
            session.flush()
        (report,) = queries.campaign_reports(session, [_campaign(session, campaign_id)])
        points = queries.timeline(session, campaign_id)
        links = queries.link_clicks(session, campaign_id, limit=10)
    if as_csv:
        typer.echo(export.reports_csv([report]), nl=False)
    elif as_json:
        document = {
            "report": report.model_dump(mode="json"),
            "timeline": [p.model_dump(mode="json") for p in points],
            "links": [x.model_dump(mode="json") for x in links],
        }
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        typer.echo(_block(report, links))


def _campaign(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        typer.echo(f"No campaign #{campaign_id}.", err=True)
        raise typer.Exit(1)
    return campaign


def _print_many(reports: list[queries.CampaignReport], *, as_json: bool, as_csv: bool) -> None:
    if as_csv:
        typer.echo(export.reports_csv(reports), nl=False)
    elif as_json:
        typer.echo(
            json.dumps([r.model_dump(mode="json") for r in reports], indent=2, ensure_ascii=False)
        )
    elif not reports:
        typer.echo("No campaign has started sending yet.")
    for report in reports if not (as_json or as_csv) else []:
        typer.echo(
            f"#{report.id:<5} {report.status:<9} sent {report.sent:>8,}  delivered "
            f"{_pct(report.rates['delivered']):>6}  opened {_pct(report.rates['opened']):>6}  "
            f"clicked {_pct(report.rates['clicked']):>6}  "
            f"bounced {_pct(report.rates['bounced']):>6}  {report.subject}"
        )


def _block(report: queries.CampaignReport, links: list[queries.LinkClicks]) -> str:
    lines = [f"Campaign #{report.id}: {report.subject}", f"Status: {report.status}"]
    if report.status in (CampaignStatus.SENDING, CampaignStatus.PAUSED):
        lines.append(f"Progress: {report.percent_done:g}% at {report.rate_per_s:g} messages/s")
    for label, name, rate in ROWS:
        value = getattr(report, name)
        share = f"  {_pct(report.rates[rate])}" if rate else ""
        lines.append(f"  {label:<18} {value:>10,}{share}")
    lines.extend(f"Warning: {warning}" for warning in report.warnings)
    if links:
        lines.append("Most clicked links:")
        lines.extend(f"  {link.clicks:>8,}  {link.url}" for link in links)
    return "\n".join(lines)


def _pct(rate: float) -> str:
    return f"{100 * rate:.1f}%"
