"""Tables of the statistics: aggregates maintained as events arrive, and their cursors.

Every count a page shows is read from these small tables, never by scanning
``delivery_events``: a campaign's totals are one row, its timeline a row per hour and event
kind, its links a row per URL; a list's history a row per day; provider health a row per
provider and minute.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, BigId, UTCDateTime, utcnow

OUTCOME_BUCKETS = ("delivered", "deferred", "bounced_hard", "bounced_soft", "failed", "complained")
"""Where a delivery stands after what providers said; each is a column of CampaignStats."""
SENDING_COUNTS = ("recipients", "sent", "send_failed", "unknown", "skipped", "cancelled")
"""Deliveries per sending status, kept once a campaign has finished (live before that)."""
CAMPAIGN_COUNTERS = (
    *OUTCOME_BUCKETS,
    "opened",
    "clicked",
    "opens",
    "machine_opens",
    "clicks",
    "machine_clicks",
    "unsubscribed",
    *SENDING_COUNTS,
)


class CampaignStats(Base):
    """One campaign's totals: deliveries per outcome, unique and total engagement."""

    __tablename__ = "campaign_stats"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    delivered: Mapped[int] = mapped_column(default=0)
    """Deliveries that reached the inbox and stayed there (delivered, opened or clicked)."""
    deferred: Mapped[int] = mapped_column(default=0)
    """Deliveries the receiving server deferred and that have no later outcome yet."""
    bounced_hard: Mapped[int] = mapped_column(default=0)
    bounced_soft: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    complained: Mapped[int] = mapped_column(default=0)
    opened: Mapped[int] = mapped_column(default=0)
    """Unique opens: deliveries a person opened (``Delivery.opened_at`` set)."""
    clicked: Mapped[int] = mapped_column(default=0)
    """Unique clicks: deliveries where a person clicked (``Delivery.clicked_at`` set)."""
    opens: Mapped[int] = mapped_column(default=0)
    machine_opens: Mapped[int] = mapped_column(default=0)
    clicks: Mapped[int] = mapped_column(default=0)
    machine_clicks: Mapped[int] = mapped_column(default=0)
    unsubscribed: Mapped[int] = mapped_column(default=0)
    """Recipients who left a list through this campaign (from the activity log)."""
    recipients: Mapped[int] = mapped_column(default=0)
    sent: Mapped[int] = mapped_column(default=0)
    send_failed: Mapped[int] = mapped_column(default=0)
    unknown: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    cancelled: Mapped[int] = mapped_column(default=0)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When the sending counts above were taken from a finished campaign (None: live)."""


class CampaignHour(Base):
    """How many events of one kind a campaign had in one hour (its timeline)."""

    __tablename__ = "campaign_hours"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    kind: Mapped[str] = mapped_column(String(24), primary_key=True)
    """An event type, or ``machine_opened`` / ``machine_clicked``."""
    count: Mapped[int] = mapped_column(default=0)


class CampaignLink(Base):
    """Clicks on one URL of one campaign, by people and by machines."""

    __tablename__ = "campaign_links"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    url_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(Text, default="")
    clicks: Mapped[int] = mapped_column(default=0)
    machine_clicks: Mapped[int] = mapped_column(default=0)


class CampaignUnsubscriber(Base):
    """A recipient who unsubscribed through a campaign (counted once however many lists)."""

    __tablename__ = "campaign_unsubscribers"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    subscriber_id: Mapped[int] = mapped_column(primary_key=True)


class ListDay(Base):
    """One list's day: what happened to its subscriptions, and its size when last counted."""

    __tablename__ = "list_days"

    list_id: Mapped[int] = mapped_column(
        ForeignKey("lists.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    subscribed: Mapped[int] = mapped_column(default=0)
    confirmed: Mapped[int] = mapped_column(default=0)
    unsubscribed: Mapped[int] = mapped_column(default=0)
    bounced: Mapped[int] = mapped_column(default=0)
    complained: Mapped[int] = mapped_column(default=0)
    erased: Mapped[int] = mapped_column(default=0)
    size: Mapped[int | None] = mapped_column()
    """Confirmed subscriptions at the day's last snapshot (None: not counted that day)."""


class ProviderMinute(Base):
    """One provider's calls in one minute: requests, messages, errors, 429s, latency."""

    __tablename__ = "provider_minutes"
    __table_args__ = (Index("ix_provider_minutes_minute", "minute"),)

    provider: Mapped[str] = mapped_column(String(32), primary_key=True)
    minute: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    """The minute's start; :data:`publisher.stats.health.ALL_TIME` holds the running totals."""
    requests: Mapped[int] = mapped_column(BigId, default=0)
    messages: Mapped[int] = mapped_column(BigId, default=0)
    accepted: Mapped[int] = mapped_column(BigId, default=0)
    errors: Mapped[int] = mapped_column(BigId, default=0)
    throttled: Mapped[int] = mapped_column(BigId, default=0)
    deferrals: Mapped[int] = mapped_column(BigId, default=0)
    latency_ms_sum: Mapped[int] = mapped_column(BigId, default=0)
    latency_ms_max: Mapped[int] = mapped_column(default=0)


class StatsCursor(Base):
    """How far a follower of the activity log got (moved in the same unit of work)."""

    __tablename__ = "stats_cursors"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    position: Mapped[int] = mapped_column(BigId, default=0)
    gap_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When the follower first waited at a missing id just past ``position``."""
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
