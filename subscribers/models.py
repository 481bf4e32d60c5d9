"""Tables of the subscribers domain: lists, subscribers, subscriptions, suppressions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, UTCDateTime, utcnow


class OptIn(StrEnum):
    """How a list takes subscribers: at once, or after a confirmed email (``lists.opt_in``)."""

    SINGLE = "single"
    DOUBLE = "double"


class SubscriberStatus(StrEnum):
    """Whether a person may be mailed at all (``subscribers.status``)."""

    ACTIVE = "active"
    BLOCKED = "blocked"


class SubscriptionStatus(StrEnum):
    """Where a subscription is (``subscriptions.status``)."""

    UNCONFIRMED = "unconfirmed"
    CONFIRMED = "confirmed"
    UNSUBSCRIBED = "unsubscribed"


class SuppressionReason(StrEnum):
    """Why Herald suppressed an address itself (``suppressions.reason``)."""

    HARD_BOUNCE = "hard_bounce"
    COMPLAINT = "complaint"
    ERASED = "erased"
    """Only the address's hash is kept (an erasure)."""


OPT_IN_MODES = tuple(OptIn)
SUBSCRIPTION_STATUSES = tuple(SubscriptionStatus)


class MailingList(Base):
    """A list people subscribe to (a newsletter), with its opt-in mode and language."""

    __tablename__ = "lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    opt_in: Mapped[str] = mapped_column(String(16), default=OptIn.DOUBLE)
    public: Mapped[bool] = mapped_column(default=True)
    language: Mapped[str] = mapped_column(String(16), default="en")
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Subscriber(Base):
    """A person, by normalised email address (unique), with a language and time zone."""

    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str] = mapped_column(String(16), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=SubscriberStatus.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Subscription(Base):
    """A subscriber on a list, with the consent record that allows mailing them."""

    __tablename__ = "subscriptions"
    __table_args__ = (Index("ix_subscriptions_list_status", "list_id", "status", "subscriber_id"),)

    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True
    )
    list_id: Mapped[int] = mapped_column(
        ForeignKey("lists.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(16), default=SubscriptionStatus.UNCONFIRMED)
    topics: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    """The list's topics this subscriber wants; empty means all of them."""
    requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When the subscription was (last) asked for; a confirmation link names this request."""
    requested_ip: Mapped[str] = mapped_column(String(64), default="", server_default="")
    confirmation_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When the subscriber agreed: the confirmation (double opt-in) or the form (single)."""
    consent_source: Mapped[str] = mapped_column(String(200), default="")
    """How: form, api, preferences, import, admin."""
    consent_ip: Mapped[str] = mapped_column(String(64), default="")
    """The address the consent came from (the confirming click for double opt-in)."""
    consent_page: Mapped[str] = mapped_column(String(500), default="", server_default="")
    """The page the subscriber signed up on (the Referer, else our own form's URL)."""
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unsubscribed_via: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Suppression(Base):
    """An address that must never be mailed (hard bounce, complaint, erasure).

    An erased address is kept only as ``email_hash`` (``email`` empty): Herald can still
    refuse it at every door without holding the address itself.
    """

    __tablename__ = "suppressions"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    email_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    reason: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
