"""Campaign statistics from scratch, and the sending counts of finished campaigns.

:func:`rebuild_campaign_stats` is the one-off repair (and the reference the tests hold the
incremental path to): it recounts one campaign from its deliveries and events. It reads the
whole campaign, so it is for a command or a migration, never for a page view.

:func:`settle_finished_campaigns` keeps the deliveries-per-status counts of finished
campaigns in their statistics row, so pages never count the deliveries of old campaigns;
campaigns still sending are counted live (see :mod:`publisher.campaigns.progress`).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.orm import Session

from core.database import utcnow
from core.providers.events import EventType
from publisher.campaigns.models import Campaign, CampaignStatus
from publisher.sending.deliveries import delivery_counts
from publisher.sending.models import Delivery, DeliveryStatus
from publisher.stats import aggregates
from publisher.stats.counting import add_counts
from publisher.stats.models import (
    CAMPAIGN_COUNTERS,
    SENDING_COUNTS,
    CampaignHour,
    CampaignLink,
    CampaignStats,
    CampaignUnsubscriber,
)
from publisher.tracking.models import DeliveryEvent
from publisher.tracking.retention import events_may_be_pruned

FINISHED = (CampaignStatus.SENT, CampaignStatus.CANCELLED, CampaignStatus.FAILED)
SETTLE_AT_ONCE = 20


class RebuildRefused(ValueError):
    """A campaign whose raw events may have been pruned: a recount would lose its figures."""


def rebuild_campaign_stats(session: Session, campaign_id: int) -> None:
    """Recount one campaign's statistics from its deliveries, events and unsubscribers."""
    started_at = session.scalar(select(Campaign.started_at).where(Campaign.id == campaign_id))
    if events_may_be_pruned(started_at):
        raise RebuildRefused(
            f"campaign {campaign_id} started before the events retention period "
            "(HERALD_RETENTION_EVENTS_DAYS): its events may be pruned, its figures are kept"
        )
    for table in (CampaignStats, CampaignHour, CampaignLink):
        session.execute(delete(table).where(table.campaign_id == campaign_id))
    counts: Counter[str] = Counter()
    counts.update(_outcomes(session, campaign_id))
    counts.update(_engagement(session, campaign_id))
    counts["unsubscribed"] = (
        session.scalar(select(func.count()).where(CampaignUnsubscriber.campaign_id == campaign_id))
        or 0
    )
    _rebuild_events(session, campaign_id, counts)
    aggregates.add_campaign_counts(session, {campaign_id: counts})
    _ensure_row(session, campaign_id)
    if session.scalar(select(Campaign.status).where(Campaign.id == campaign_id)) in FINISHED:
        settle_campaigns(session, [campaign_id])


def _ensure_row(session: Session, campaign_id: int) -> None:
    row = {"campaign_id": campaign_id, **dict.fromkeys(CAMPAIGN_COUNTERS, 0)}
    add_counts(session, CampaignStats, [row], keys=["campaign_id"])


def _outcomes(session: Session, campaign_id: int) -> Counter[str]:
    states = aggregates.hard_bounce_expression()
    rows = session.execute(
        select(Delivery.outcome, states.label("hard"), func.count())
        .where(Delivery.campaign_id == campaign_id, Delivery.outcome != "")
        .group_by(Delivery.outcome, states)
    )
    counts: Counter[str] = Counter()
    for outcome, hard, count in rows:
        counts[aggregates.bucket_of(outcome, bool(hard))] += count
    return counts


def _engagement(session: Session, campaign_id: int) -> dict[str, int]:
    row = session.execute(
        select(func.count(Delivery.opened_at), func.count(Delivery.clicked_at)).where(
            Delivery.campaign_id == campaign_id
        )
    ).one()
    return {"opened": int(row[0]), "clicked": int(row[1])}


def _rebuild_events(session: Session, campaign_id: int, counts: Counter[str]) -> None:
    hour = _hour_expression(session, DeliveryEvent.occurred_at)
    rows = session.execute(
        select(DeliveryEvent.type, DeliveryEvent.machine, hour.label("hour"), func.count())
        .where(DeliveryEvent.campaign_id == campaign_id)
        .group_by(DeliveryEvent.type, DeliveryEvent.machine, hour)
    )
    hours: Counter[tuple[datetime, str]] = Counter()
    for event_type, machine, at, count in rows:
        kind = aggregates.MACHINE_KINDS.get(event_type, event_type) if machine else event_type
        hours[(_as_datetime(at), kind)] += count
        if kind in aggregates.TOTALS:
            counts[aggregates.TOTALS[kind]] += count
    hour_rows = [
        {"campaign_id": campaign_id, "hour": h, "kind": k, "count": n}
        for (h, k), n in hours.items()
    ]
    add_counts(session, CampaignHour, hour_rows, keys=["campaign_id", "hour", "kind"])
    _rebuild_links(session, campaign_id)


def _rebuild_links(session: Session, campaign_id: int) -> None:
    url = DeliveryEvent.details["url"].as_string()
    rows = session.execute(
        select(url, DeliveryEvent.machine, func.count())
        .where(DeliveryEvent.campaign_id == campaign_id, DeliveryEvent.type == EventType.CLICKED)
        .group_by(url, DeliveryEvent.machine)
    )
    links: list[dict[str, Any]] = []
    for address, machine, count in rows:
        if address:
            links.append(
                {
                    "campaign_id": campaign_id,
                    "url_hash": aggregates.url_key(address),
                    "url": address,
                    "clicks": 0 if machine else count,
                    "machine_clicks": count if machine else 0,
                }
            )
    add_counts(session, CampaignLink, links, keys=["campaign_id", "url_hash"], replace=["url"])


def _hour_expression(session: Session, column: Any) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "postgresql":
        return func.date_trunc("hour", func.timezone("UTC", column))
    return func.strftime("%Y-%m-%d %H:00:00", column)


def _as_datetime(value: datetime | str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def settle_finished_campaigns(session: Session, *, limit: int = SETTLE_AT_ONCE) -> list[int]:
    """Store the sending counts of campaigns that finished (or moved since); return their ids."""
    moved = func.coalesce(Campaign.last_progress_at, Campaign.finished_at, Campaign.created_at)
    due = list(
        session.scalars(
            select(Campaign.id)
            .outerjoin(CampaignStats, CampaignStats.campaign_id == Campaign.id)
            .where(Campaign.status.in_(FINISHED))
            .where(or_(CampaignStats.settled_at.is_(None), CampaignStats.settled_at < moved))
            .order_by(Campaign.id)
            .limit(limit)
        )
    )
    settle_campaigns(session, due)
    return due


def settle_campaigns(session: Session, campaign_ids: list[int]) -> None:
    """Store the current deliveries-per-status counts of the given campaigns."""
    if not campaign_ids:
        return
    counts = delivery_counts(session, campaign_ids)
    now = utcnow()
    rows = []
    for campaign_id in campaign_ids:
        by_status = counts[campaign_id]
        sending = {
            "recipients": sum(by_status.values()),
            "sent": by_status.get(DeliveryStatus.SENT, 0),
            "send_failed": by_status.get(DeliveryStatus.FAILED, 0),
            "unknown": by_status.get(DeliveryStatus.UNKNOWN, 0),
            "skipped": by_status.get(DeliveryStatus.SKIPPED, 0),
            "cancelled": by_status.get(DeliveryStatus.CANCELLED, 0),
        }
        row = {"campaign_id": campaign_id, **dict.fromkeys(CAMPAIGN_COUNTERS, 0)}
        rows.append({**row, **sending, "settled_at": now})
    add_counts(
        session, CampaignStats, rows, keys=["campaign_id"], replace=[*SENDING_COUNTS, "settled_at"]
    )
