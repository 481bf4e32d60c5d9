"""What the scheduler's sweeps look for: campaigns whose plan or batch tasks were lost.

Each found campaign is stamped as it is returned, so the next sweep leaves it alone until
the task sent again has had its time.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, or_, select, update
from sqlalchemy.orm import Session

from core.database import utcnow
from publisher.campaigns.models import Campaign, CampaignStatus
from publisher.sending.models import Delivery, DeliveryStatus


def campaigns_awaiting_plan(session: Session, *, requested_before: datetime) -> list[int]:
    """Sending campaigns whose planning was asked for long ago and never done (task lost)."""
    ids = session.scalars(
        select(Campaign.id).where(
            Campaign.status == CampaignStatus.SENDING,
            Campaign.planned_at.is_(None),
            Campaign.plan_requested_at < requested_before,
        )
    ).all()
    if ids:
        session.execute(
            update(Campaign).where(Campaign.id.in_(ids)).values(plan_requested_at=utcnow())
        )
    return list(ids)


def stalled_campaigns(session: Session, *, progress_before: datetime) -> list[int]:
    """Planned, sending campaigns with queued rows and no progress lately (batch tasks lost)."""
    queued = exists().where(
        Delivery.campaign_id == Campaign.id,
        Delivery.status == DeliveryStatus.QUEUED,
        # Rows waiting for their local hour are not stalled.
        or_(Delivery.not_before.is_(None), Delivery.not_before <= Campaign.released_until),
    )
    ids = session.scalars(
        select(Campaign.id).where(
            Campaign.status == CampaignStatus.SENDING,
            Campaign.planned_at.is_not(None),
            Campaign.last_progress_at < progress_before,
            queued,
        )
    ).all()
    if ids:
        session.execute(
            update(Campaign).where(Campaign.id.in_(ids)).values(last_progress_at=utcnow())
        )
    return list(ids)
