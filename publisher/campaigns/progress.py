"""A campaign's progress as admins see it: status, deliveries per status, rate and ETA.

The sending rate is the number of messages sent in the last minute, divided by 60, read from
``deliveries.sent_at``; it is counted only for campaigns now sending (the others have no
rate and no ETA). Its cost grows with the campaign: the ``(campaign_id, status, id)`` index
finds the campaign's sent rows, and each one's ``sent_at`` is read from the table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.database import utcnow
from publisher.campaigns.models import Campaign, CampaignStatus
from publisher.sending.deliveries import OPEN_STATUSES, delivery_counts
from publisher.sending.models import DELIVERY_STATUSES, Delivery, DeliveryStatus

RATE_WINDOW = timedelta(seconds=60)


class CampaignProgress(BaseModel):
    """One campaign's progress (the JSON API and ``--json`` share this shape and its names).

    ``sending`` counts the deliveries in flight; ``percent_done`` is the share of ``total``
    that reached an end state; ``rate_per_s`` is messages sent per second over the last
    minute; ``eta_seconds`` is what remains divided by that rate (null with no rate or
    nothing left).
    """

    id: int
    kind: str
    subject: str
    status: str
    error: str
    total: int
    queued: int
    sending: int
    sent: int
    failed: int
    unknown: int
    skipped: int
    cancelled: int
    percent_done: float
    rate_per_s: float
    eta_seconds: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def remaining(self) -> int:
        """Deliveries still queued or in flight."""
        return self.queued + self.sending


def campaign_progress(
    session: Session, campaigns: Sequence[Campaign], *, now: datetime | None = None
) -> list[CampaignProgress]:
    """Progress of each campaign, in the given order, from two grouped counts."""
    counts = delivery_counts(session, [campaign.id for campaign in campaigns])
    sending_ids = [
        campaign.id for campaign in campaigns if campaign.status == CampaignStatus.SENDING
    ]
    recent = sent_since(session, sending_ids, (now or utcnow()) - RATE_WINDOW)
    return [
        _progress(campaign, counts[campaign.id], recent.get(campaign.id, 0))
        for campaign in campaigns
    ]


def progress_by_id(session: Session, campaign_ids: Sequence[int]) -> list[CampaignProgress]:
    """Progress of the campaigns with these ids, in id order (unknown ids are left out)."""
    query = select(Campaign).where(Campaign.id.in_(campaign_ids)).order_by(Campaign.id)
    return campaign_progress(session, list(session.scalars(query)))


def sent_since(session: Session, campaign_ids: Sequence[int], since: datetime) -> dict[int, int]:
    """Messages each campaign sent from ``since`` on."""
    if not campaign_ids:
        return {}
    rows = session.execute(
        select(Delivery.campaign_id, func.count())
        .where(Delivery.campaign_id.in_(campaign_ids), Delivery.status == DeliveryStatus.SENT)
        .where(Delivery.sent_at >= since)
        .group_by(Delivery.campaign_id)
    )
    return {int(campaign_id): int(count) for campaign_id, count in rows}


def _progress(campaign: Campaign, counts: dict[str, int], sent_recently: int) -> CampaignProgress:
    by_status = {status: counts.get(status, 0) for status in DELIVERY_STATUSES}
    remaining = sum(by_status[status] for status in OPEN_STATUSES)
    rate = sent_recently / RATE_WINDOW.total_seconds()
    return CampaignProgress(
        id=campaign.id,
        kind=campaign.kind,
        subject=_subject(campaign),
        status=campaign.status,
        error=campaign.error,
        total=campaign.total,
        **by_status,
        percent_done=_percent_done(campaign.total, remaining),
        rate_per_s=round(rate, 2),
        eta_seconds=math.ceil(remaining / rate) if rate and remaining else None,
        created_at=campaign.created_at,
        started_at=campaign.started_at,
        finished_at=campaign.finished_at,
    )


def _percent_done(total: int, remaining: int) -> float:
    if not total:
        return 0.0
    return round(100 * max(total - remaining, 0) / total, 1)


def duration_text(seconds: int | None) -> str:
    """A duration for people: "45 s", "12 min", "2 h 5 min"; "—" when unknown."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds} s"
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


def _subject(campaign: Campaign) -> str:
    if campaign.subject:
        return campaign.subject
    snapshot = campaign.compiled or {}
    language = snapshot.get("default_language", "")
    return str(snapshot.get("languages", {}).get(language, {}).get("subject", ""))
