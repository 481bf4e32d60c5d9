"""The table of delivery events: what providers and our own tracking report, once each."""

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
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, BigId, UTCDateTime, utcnow

PRUNABLE = "type <> 'bounced' OR bounce <> 'hard'"
"""The events retention may delete (all but hard bounces), in SQL: the prune's condition
and its partial index's are this one text, so PostgreSQL sees the index fits the query."""


class DeliveryEvent(Base):
    """Something a provider (webhook) or our own tracking said about one delivery."""

    __tablename__ = "delivery_events"
    __table_args__ = (
        UniqueConstraint("source", "event_id"),
        Index("ix_delivery_events_campaign_type", "campaign_id", "type"),
        Index("ix_delivery_events_delivery_id", "delivery_id"),
        Index(
            "ix_delivery_events_prunable",
            "received_at",
            postgresql_where=text(PRUNABLE),
            sqlite_where=text(PRUNABLE),
        ),
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
    """A :class:`core.providers.events.EventType`: providers and our own tracking share them."""
    bounce: Mapped[str] = mapped_column(String(8), default="")
    recipient: Mapped[str] = mapped_column(String(320), default="")
    machine: Mapped[bool] = mapped_column(default=False)
    """An open or click by a mail-privacy proxy or link scanner, not counted as a person."""
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
