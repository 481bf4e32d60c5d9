"""The figures /metrics reports beside the providers' totals: queue depth, campaigns per
status, and how far behind the webhooks and the activity log's followers are.

Each is one indexed query, cheap enough to run on every scrape.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.activity import ActivityEvent
from publisher.campaigns.models import Campaign, CampaignStatus
from publisher.sending.models import Delivery, DeliveryStatus
from publisher.stats.models import StatsCursor
from publisher.tracking.models import DeliveryEvent
from publisher.webhooks.models import WebhookDelivery, WebhookDeliveryStatus


def queue_depth(session: Session) -> int:
    """Deliveries still queued in the campaigns that are sending."""
    sending = select(Campaign.id).where(Campaign.status == CampaignStatus.SENDING)
    depth = session.scalar(
        select(func.count()).where(
            Delivery.campaign_id.in_(sending), Delivery.status == DeliveryStatus.QUEUED
        )
    )
    return int(depth or 0)


def campaigns_by_status(session: Session) -> dict[str, int]:
    """How many campaigns are in each status (statuses with none are left out)."""
    rows = session.execute(select(Campaign.status, func.count()).group_by(Campaign.status))
    return {str(status): int(count) for status, count in rows}


def latest_event_delay(session: Session) -> float:
    """Seconds between the latest provider event and its webhook reaching us (0 without one)."""
    latest = session.execute(
        select(DeliveryEvent.occurred_at, DeliveryEvent.received_at)
        .order_by(DeliveryEvent.id.desc())
        .limit(1)
    ).first()
    return seconds_between(latest.received_at, latest.occurred_at) if latest else 0.0


def oldest_pending_webhook(session: Session) -> datetime | None:
    """When the oldest outgoing webhook not yet delivered was made, if there is one."""
    return session.scalar(
        select(func.min(WebhookDelivery.created_at)).where(
            WebhookDelivery.status == WebhookDeliveryStatus.PENDING
        )
    )


def activity_backlog(session: Session, followers: Sequence[str]) -> dict[str, int]:
    """For each follower of the activity log, how many rows it has still to apply."""
    newest = session.scalar(select(func.max(ActivityEvent.id))) or 0
    rows = session.execute(select(StatsCursor.name, StatsCursor.position))
    positions = {str(name): int(position) for name, position in rows}
    return {name: max(newest - positions.get(name, 0), 0) for name in followers}


def seconds_between(later: datetime, earlier: datetime) -> float:
    """``later - earlier`` in seconds, never below zero (clocks of two machines differ)."""
    return max((later - earlier).total_seconds(), 0.0)
