"""Tables of the publisher domain: posts, campaigns and their deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, UTCDateTime, utcnow

POST_KINDS = ("event", "report", "news")
POST_STATUSES = ("draft", "in_review", "approved", "published")
CAMPAIGN_KINDS = ("announcement", "digest")
CAMPAIGN_STATUSES = ("draft", "scheduled", "sending", "sent", "paused", "cancelled", "failed")
DELIVERY_STATUSES = ("queued", "sending", "sent", "failed", "unknown", "skipped", "cancelled")
EVENT_TYPES = (
    "delivered", "deferred", "bounced", "complained", "opened", "clicked", "unsubscribed", "failed"
)  # fmt: skip

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Post(Base):
    """An event, report or news item, in one language, possibly a translation of another."""

    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(16), default="en")
    translation_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", ondelete="SET NULL"), index=True
    )
    slug: Mapped[str] = mapped_column(String(200), default="")
    title: Mapped[str] = mapped_column(String(500))
    summary: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    takeaways: Mapped[list[str]] = mapped_column(JSON, default=list)
    speakers: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    media: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    author: Mapped[str] = mapped_column(String(200), default="")
    url: Mapped[str] = mapped_column(String(2000), default="")
    image_url: Mapped[str] = mapped_column(String(2000), default="")
    image_alt: Mapped[str] = mapped_column(String(500), default="")
    location: Mapped[str] = mapped_column(String(300), default="")
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    status: Mapped[str] = mapped_column(String(16), default="draft")
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source_id: Mapped[str | None] = mapped_column(String(500), unique=True)
    images: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    """Further pictures (a photo report), each ``{"url", "alt"}``."""
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PostComment(Base):
    """A remark on a post under review; ``sent_back`` marks the one that returned it to draft."""

    __tablename__ = "post_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(320))
    body: Mapped[str] = mapped_column(Text)
    sent_back: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Campaign(Base):
    """An announcement (one post) or a digest (several posts) sent to one or more lists."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(500), default="")
    language: Mapped[str] = mapped_column(String(16), default="en")
    template: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    plan_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    planned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_progress_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    total: Mapped[int] = mapped_column(default=0)
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    track_opens: Mapped[bool] = mapped_column(default=True)
    track_clicks: Mapped[bool] = mapped_column(default=True)
    compiled: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """Snapshot of the compiled template per language: {lang: {subject, html, text}}."""
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id"))
    """Only the list members this segment selects (publisher/segments.py), when set."""
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    local_time: Mapped[bool] = mapped_column(default=False, server_default=false())
    """Deliver at the same local hour in each recipient's time zone."""
    local_send_at: Mapped[str] = mapped_column(String(16), default="", server_default="")
    """The wall time ("2026-12-01T09:00") each recipient gets a local-time campaign at."""
    schedule_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    """The zone the editor scheduled in (the schedule is shown in it)."""
    released_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """Deliveries with a ``not_before`` up to this instant may be sent (local-time delivery)."""
    digest_schedule_id: Mapped[int | None] = mapped_column(
        ForeignKey("digest_schedules.id", ondelete="SET NULL")
    )
    digest_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """The recurring run this digest was made for (one campaign per schedule and run)."""

    __table_args__ = (UniqueConstraint("digest_schedule_id", "digest_run_at"),)


class DigestSchedule(Base):
    """A recurring digest: on these weekdays at this local time, the lists get a digest."""

    __tablename__ = "digest_schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    list_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    weekdays: Mapped[list[int]] = mapped_column(JSON, default=list)
    """ISO weekdays, 1 (Monday) to 7 (Sunday)."""
    local_time: Mapped[str] = mapped_column(String(5), default="09:00")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    subject_template: Mapped[str] = mapped_column(String(500), default="")
    """The subject, with ``{date}`` and ``{count}`` filled per run."""
    language: Mapped[str] = mapped_column(String(16), default="en")
    active: Mapped[bool] = mapped_column(default=True)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_outcome: Mapped[str] = mapped_column(String(200), default="")
    """What the last run did: "campaign #12" or "skipped: no new posts"."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CampaignPost(Base):
    """A post carried by a campaign, in the order the editor chose."""

    __tablename__ = "campaign_posts"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)


class CampaignList(Base):
    """A list a campaign is sent to."""

    __tablename__ = "campaign_lists"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id"), primary_key=True)


class Delivery(Base):
    """One message of one campaign to one subscriber: the unit the pipeline never doubles."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("campaign_id", "subscriber_id"),
        Index("ix_deliveries_campaign_status_id", "campaign_id", "status", "id"),
        Index("ix_deliveries_attempt_id", "attempt_id"),
        # The sweeper reads rows in flight by lease on every tick.
        Index(
            "ix_deliveries_in_flight",
            "lease_until",
            postgresql_where=text("status = 'sending'"),
            sqlite_where=text("status = 'sending'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempt_id: Mapped[str | None] = mapped_column(String(36))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """Set just before the provider call (the dispatched checkpoint): only then may it have left."""
    attempts: Mapped[int] = mapped_column(default=0)
    provider: Mapped[str] = mapped_column(String(32), default="")
    provider_message_id: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(16), default="")
    """What came back since: delivered, deferred, bounced, complained… (only moves forward)."""
    outcome_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """Not to be sent before this instant (local-time delivery); null: as soon as possible."""


class DeliveryEvent(Base):
    """Something a provider (webhook) or our own tracking said about one delivery."""

    __tablename__ = "delivery_events"
    __table_args__ = (
        UniqueConstraint("source", "event_id"),
        Index("ix_delivery_events_campaign_type", "campaign_id", "type"),
        Index("ix_delivery_events_delivery_id", "delivery_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    """The provider's name, or "herald" for our own open pixel and click redirects."""
    event_id: Mapped[str] = mapped_column(String(200))
    """The source's own event id, or a composite key where it has none (deduplication)."""
    delivery_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("deliveries.id", ondelete="CASCADE"),
    )
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(16))
    bounce: Mapped[str] = mapped_column(String(8), default="")
    recipient: Mapped[str] = mapped_column(String(320), default="")
    machine: Mapped[bool] = mapped_column(default=False)
    """An open or click by a mail-privacy proxy or link scanner, not counted as a person."""
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
