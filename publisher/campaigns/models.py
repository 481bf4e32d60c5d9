"""Tables of campaigns: announcements and digests, their posts and lists, digest schedules."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, UTCDateTime, utcnow


class CampaignKind(StrEnum):
    """An announcement (one post) or a digest (several) (``campaigns.kind``)."""

    ANNOUNCEMENT = "announcement"
    DIGEST = "digest"


class CampaignStatus(StrEnum):
    """Where a campaign is: draft, scheduled, sending, then sent, paused, cancelled or failed."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    FAILED = "failed"


CAMPAIGN_STATUSES = tuple(CampaignStatus)


class Campaign(Base):
    """An announcement (one post) or a digest (several posts) sent to one or more lists."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(500), default="")
    language: Mapped[str] = mapped_column(String(16), default="en")
    template: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=CampaignStatus.DRAFT, index=True)
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
    """Only the list members this segment selects (publisher/audience/segments.py), when set."""
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
