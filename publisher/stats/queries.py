"""What the dashboard, the JSON API, the CLI and the CSV exports show, read from aggregates.

A campaign's report is one row of ``campaign_stats`` plus, while it is still sending, the
live progress of :mod:`publisher.campaigns.progress` (one grouped count over an index); a finished
campaign's sending counts were settled into its row. No query here reads
``delivery_events``.

``delivered`` counts the messages that reached the inbox: delivered (or opened, clicked)
and not bounced since, plus those complained about.

Rates are shares of *delivered* messages (opens, clicks, complaints, unsubscribes…), except
the bounce rate, which is a share of *sent* ones: a bounced message is never delivered, and
that is how mailbox providers measure it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from publisher.campaigns.models import Campaign, CampaignStatus
from publisher.campaigns.progress import CampaignProgress, campaign_progress
from publisher.stats.health import warnings_for
from publisher.stats.models import CampaignHour, CampaignLink, CampaignStats
from publisher.stats.rebuild import FINISHED

TIMELINE_HOURS = 72
RATE_OF_DELIVERED = (
    "opened",
    "clicked",
    "opens",
    "clicks",
    "machine_opens",
    "machine_clicks",
    "complained",
    "unsubscribed",
)


class CampaignReport(BaseModel):
    """Every number of one campaign (the JSON API, ``--json`` and CSV share these names)."""

    id: int
    subject: str
    kind: str
    status: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    recipients: int
    sent: int
    queued: int
    sending: int
    send_failed: int
    unknown: int
    skipped: int
    cancelled: int
    percent_done: float
    rate_per_s: float
    eta_seconds: int | None
    delivered: int
    deferred: int
    bounced: int
    bounced_hard: int
    bounced_soft: int
    failed: int
    complained: int
    opened: int
    opens: int
    machine_opens: int
    clicked: int
    clicks: int
    machine_clicks: int
    unsubscribed: int
    rates: dict[str, float]
    """Each count above as a share of delivered (``bounced`` as a share of sent), 0–1."""
    warnings: list[str]


class TimelinePoint(BaseModel):
    """One hour of a campaign's timeline: events per kind."""

    hour: datetime
    counts: dict[str, int]


class LinkClicks(BaseModel):
    """Clicks on one URL of a campaign."""

    url: str
    clicks: int
    machine_clicks: int


def campaign_reports(session: Session, campaigns: Sequence[Campaign]) -> list[CampaignReport]:
    """The reports of the given campaigns, in their order."""
    ids = [campaign.id for campaign in campaigns]
    stats = {
        row.campaign_id: row
        for row in session.scalars(select(CampaignStats).where(CampaignStats.campaign_id.in_(ids)))
    }
    live = [c for c in campaigns if not _settled(c, stats.get(c.id))]
    progress = {p.id: p for p in campaign_progress(session, live)}
    return [_report(c, stats.get(c.id) or CampaignStats(), progress.get(c.id)) for c in campaigns]


def _settled(campaign: Campaign, stats: CampaignStats | None) -> bool:
    return campaign.status in FINISHED and stats is not None and stats.settled_at is not None


def _report(
    campaign: Campaign, stats: CampaignStats, progress: CampaignProgress | None
) -> CampaignReport:
    counts = _counts(stats)
    counts["delivered"] += counts["complained"]  # a complaint comes from the inbox
    sending = _sending(stats, progress)
    bounced = counts["bounced_hard"] + counts["bounced_soft"]
    delivered, sent = counts["delivered"], sending["sent"]
    rates = {name: _share(counts[name], delivered) for name in RATE_OF_DELIVERED}
    rates["bounced"] = _share(bounced, sent)
    rates["delivered"] = _share(delivered, sent)
    return CampaignReport(
        id=campaign.id,
        subject=_subject(campaign),
        kind=campaign.kind,
        status=campaign.status,
        created_at=campaign.created_at,
        started_at=campaign.started_at,
        finished_at=campaign.finished_at,
        **sending,
        **counts,
        bounced=bounced,
        rates=rates,
        warnings=warnings_for(
            delivered=delivered, sent=sent, complained=counts["complained"], bounced=bounced
        ),
    )


def _counts(stats: CampaignStats) -> dict[str, int]:
    names = (
        "delivered",
        "deferred",
        "bounced_hard",
        "bounced_soft",
        "failed",
        "complained",
        "opened",
        "opens",
        "machine_opens",
        "clicked",
        "clicks",
        "machine_clicks",
        "unsubscribed",
    )
    return {name: int(getattr(stats, name) or 0) for name in names}


def _sending(stats: CampaignStats, progress: CampaignProgress | None) -> dict[str, Any]:
    if progress is None:
        return {
            "recipients": stats.recipients or 0,
            "sent": stats.sent or 0,
            "queued": 0,
            "sending": 0,
            "send_failed": stats.send_failed or 0,
            "unknown": stats.unknown or 0,
            "skipped": stats.skipped or 0,
            "cancelled": stats.cancelled or 0,
            "percent_done": 100.0,
            "rate_per_s": 0.0,
            "eta_seconds": None,
        }
    p = progress
    return {
        "recipients": p.queued
        + p.sending
        + p.sent
        + p.failed
        + p.unknown
        + p.skipped
        + p.cancelled,
        "sent": p.sent,
        "queued": p.queued,
        "sending": p.sending,
        "send_failed": p.failed,
        "unknown": p.unknown,
        "skipped": p.skipped,
        "cancelled": p.cancelled,
        "percent_done": p.percent_done,
        "rate_per_s": p.rate_per_s,
        "eta_seconds": p.eta_seconds,
    }


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _subject(campaign: Campaign) -> str:
    if campaign.subject:
        return campaign.subject
    snapshot = campaign.compiled or {}
    language = snapshot.get("default_language", "")
    return str(snapshot.get("languages", {}).get(language, {}).get("subject", ""))


def recent_campaigns(session: Session, *, limit: int = 20) -> list[Campaign]:
    """Campaigns that started sending, newest first."""
    return list(
        session.scalars(
            select(Campaign)
            .where(Campaign.status.in_((CampaignStatus.SENDING, CampaignStatus.PAUSED, *FINISHED)))
            .order_by(Campaign.id.desc())
            .limit(limit)
        )
    )


def timeline(
    session: Session, campaign_id: int, *, hours: int = TIMELINE_HOURS
) -> list[TimelinePoint]:
    """Events per hour from the campaign's first hour on, for ``hours`` hours (zeros kept)."""
    rows = session.execute(
        select(CampaignHour.hour, CampaignHour.kind, CampaignHour.count)
        .where(CampaignHour.campaign_id == campaign_id)
        .order_by(CampaignHour.hour)
    ).all()
    if not rows:
        return []
    first = rows[0].hour
    last = min(max(row.hour for row in rows), first + timedelta(hours=hours - 1))
    points: dict[datetime, dict[str, int]] = {}
    moment = first
    while moment <= last:
        points[moment] = {}
        moment += timedelta(hours=1)
    for hour, kind, count in rows:
        if hour in points and count:
            points[hour][kind] = points[hour].get(kind, 0) + count
    return [TimelinePoint(hour=hour, counts=counts) for hour, counts in points.items()]


def link_clicks(session: Session, campaign_id: int, *, limit: int = 50) -> list[LinkClicks]:
    """The campaign's most clicked URLs (by people), with the machines' clicks beside."""
    rows = session.scalars(
        select(CampaignLink)
        .where(CampaignLink.campaign_id == campaign_id)
        .order_by(CampaignLink.clicks.desc(), CampaignLink.url)
        .limit(limit)
    )
    return [LinkClicks(url=r.url, clicks=r.clicks, machine_clicks=r.machine_clicks) for r in rows]
