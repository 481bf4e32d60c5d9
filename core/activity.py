"""The activity log: what happened to subscribers and campaigns, as it happens (append-only).

Every domain records here (a subscribe, a confirmation, an unsubscribe, a bounce, a campaign
sent), in the same unit of work as the change itself, so a row exists exactly when the change
was committed. Readers further up (statistics, outgoing webhooks) follow the log by id; it
lives in core so that ``subscribers`` can write it without knowing who reads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Index,
    Integer,
    String,
    Text,
    bindparam,
    cast,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.database import Base, UTCDateTime, utcnow
from core.retention import BATCH, delete_batch


class ActivityKind(StrEnum):
    """What an activity row records (``activity.kind``); outgoing webhooks carry these names."""

    SUBSCRIBER_SUBSCRIBED = "subscriber.subscribed"
    """A subscription was created (confirmed or not)."""
    SUBSCRIBER_CONFIRMED = "subscriber.confirmed"
    """Double opt-in confirmed (or an import vouched for consent)."""
    SUBSCRIBER_UNSUBSCRIBED = "subscriber.unsubscribed"
    SUBSCRIBER_BOUNCED = "subscriber.bounced"
    """A hard bounce ended the subscription."""
    SUBSCRIBER_COMPLAINED = "subscriber.complained"
    SUBSCRIBER_ERASED = "subscriber.erased"
    CAMPAIGN_STARTED = "campaign.started"
    CAMPAIGN_SENT = "campaign.sent"
    CAMPAIGN_PAUSED = "campaign.paused"
    CAMPAIGN_CANCELLED = "campaign.cancelled"


ACTIVITY_KINDS = tuple(ActivityKind)


class ActivityEvent(Base):
    """One thing that happened, with the ids it concerns and a few details."""

    __tablename__ = "activity"
    __table_args__ = (
        Index("ix_activity_list_at", "list_id", "at"),
        Index("ix_activity_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(40))
    list_id: Mapped[int | None] = mapped_column()
    subscriber_id: Mapped[int | None] = mapped_column()
    campaign_id: Mapped[int | None] = mapped_column()
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


def record_activity(
    session: Session,
    kind: str,
    *,
    list_id: int | None = None,
    subscriber_id: int | None = None,
    campaign_id: int | None = None,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """Append one event to the log, in the caller's unit of work."""
    if kind not in ACTIVITY_KINDS:
        raise ValueError(f"unknown activity kind {kind!r}")
    session.add(
        ActivityEvent(
            kind=kind,
            list_id=list_id,
            subscriber_id=subscriber_id,
            campaign_id=campaign_id,
            data=data or {},
            at=at or utcnow(),
        )
    )


def record_activities(
    session: Session,
    kind: str,
    *,
    subscriber_ids: Sequence[int],
    list_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Append one event per subscriber in a single statement (imports, bulk changes)."""
    if kind not in ACTIVITY_KINDS:
        raise ValueError(f"unknown activity kind {kind!r}")
    if not subscriber_ids:
        return
    values = {"kind": kind, "list_id": list_id, "data": data or {}, "at": utcnow()}
    if session.get_bind().dialect.name == "postgresql":
        # One array parameter rather than a placeholder per row, bound as the text of an
        # integer[] literal: one string to send rather than thousands of ints to dump.
        ids = "{" + ",".join(str(int(person)) for person in subscriber_ids) + "}"
        people = func.unnest(cast(bindparam("ids", ids, type_=Text), ARRAY(Integer)))
        table = ActivityEvent.__table__
        columns = [literal(value, table.c[name].type) for name, value in values.items()]
        rows = select(*columns, people)
        session.execute(insert(ActivityEvent).from_select([*values, "subscriber_id"], rows))
        return
    session.execute(
        insert(ActivityEvent), [values | {"subscriber_id": person} for person in subscriber_ids]
    )


def prune_activity(
    session: Session, *, before: datetime, applied_up_to: int, limit: int = BATCH
) -> int:
    """Delete up to ``limit`` rows older than ``before`` that every follower of the log has
    applied (ids up to ``applied_up_to``); how many were deleted."""
    # A row no follower has applied yet would be lost to the aggregates and webhooks built
    # from it, however old it is: the id bound comes from the followers' cursors.
    old = (ActivityEvent.at < before) & (ActivityEvent.id <= applied_up_to)
    return delete_batch(
        session, ActivityEvent, where=old, oldest_first=ActivityEvent.at, limit=limit
    )
