"""The table of deliveries: one row per campaign and recipient, the record of what was sent."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, BigId, UTCDateTime, utcnow


class DeliveryStatus(StrEnum):
    """Where one delivery is in the send pipeline (``deliveries.status``)."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"
    """The request may have left: never sent again without the provider's word."""
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


DELIVERY_STATUSES = tuple(DeliveryStatus)


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
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.QUEUED)
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
