"""Deliveries: one row per campaign and recipient, planned set-based in committed chunks,
sent by id ranges; their counts and the campaign's progress marks.

Claiming rows for an attempt and recording its outcome live in :mod:`publisher.sending.attempts`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from core.database import UTCDateTime, insert_ignoring_conflicts, utcnow
from publisher.audience.segments import segment_conditions
from publisher.audience.topics import topic_conditions
from publisher.campaigns.models import Campaign, CampaignList
from publisher.sending.models import Delivery, DeliveryStatus
from subscribers.models import (
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    Suppression,
)

PLAN_CHUNK = 50_000
OPEN_STATUSES = (DeliveryStatus.QUEUED, DeliveryStatus.SENDING)


def _campaign_list_ids(campaign_id: int) -> Any:
    return select(CampaignList.list_id).where(CampaignList.campaign_id == campaign_id)


def _eligibility(session: Session, campaign_id: int) -> list[ColumnElement[bool]]:
    """Conditions (over Subscription joined to Subscriber) for being mailed by the campaign."""
    return [
        Subscription.list_id.in_(_campaign_list_ids(campaign_id)),
        Subscription.status == SubscriptionStatus.CONFIRMED,
        Subscriber.status == SubscriberStatus.ACTIVE,
        ~exists().where(Suppression.email == Subscriber.email),
        *segment_conditions(session, campaign_id),
        *topic_conditions(session, campaign_id),
    ]


def plan_deliveries(session: Session, campaign_id: int, *, chunk: int | None = None) -> int:
    """Create a queued delivery for every eligible recipient; return the campaign's total.

    Set-based, in subscriber-id chunks so no statement holds the whole list; recipients on
    several lists get one delivery; re-planning inserts nothing new.
    """
    for low, high in plan_chunks(session, chunk=chunk):
        plan_chunk(session, campaign_id, low, high)
    return count_deliveries(session, campaign_id)


def plan_chunks(session: Session, *, chunk: int | None = None) -> list[tuple[int, int]]:
    """Subscriber-id bounds (low exclusive, high inclusive) covering every subscriber."""
    chunk = chunk or PLAN_CHUNK
    highest = session.scalar(select(func.max(Subscriber.id))) or 0
    return [(low, low + chunk) for low in range(0, highest, chunk)]


@dataclass(frozen=True, slots=True)
class LocalHour:
    """When each time zone's deliveries may leave (local-time delivery): the instant per
    zone, and ``default`` for a zone not named (unknown, or new since it was computed)."""

    by_zone: Mapping[str, datetime]
    default: datetime


def plan_chunk(
    session: Session,
    campaign_id: int,
    low: int,
    high: int,
    *,
    local_hour: LocalHour | None = None,
) -> None:
    """Create the queued deliveries of the eligible subscribers with ids in (low, high],
    each with its ``not_before`` where the campaign is delivered at a local hour."""
    eligible = (
        select(
            literal(campaign_id),
            Subscription.subscriber_id,
            literal(DeliveryStatus.QUEUED.value),  # the plain str, so it is bound as VARCHAR
            literal(utcnow(), UTCDateTime),
            _not_before(local_hour),
        )
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .where(*_eligibility(session, campaign_id))
        .where(Subscription.subscriber_id > low, Subscription.subscriber_id <= high)
        .distinct()
    )
    insert = insert_ignoring_conflicts(
        session, Delivery, index_elements=["campaign_id", "subscriber_id"]
    )
    columns = ["campaign_id", "subscriber_id", "status", "created_at", "not_before"]
    session.execute(insert.from_select(columns, eligible))


def _not_before(local_hour: LocalHour | None) -> ColumnElement[Any]:
    if local_hour is None:
        return null().cast(UTCDateTime)
    default = literal(local_hour.default, UTCDateTime)
    if not local_hour.by_zone:
        return default
    return case(
        {zone: literal(at, UTCDateTime) for zone, at in local_hour.by_zone.items()},
        value=Subscriber.timezone,
        else_=default,
    )


def recipient_zones(session: Session, campaign_id: int) -> dict[str, int]:
    """How many eligible recipients of the campaign live in each time zone."""
    rows = session.execute(
        select(Subscriber.timezone, func.count(func.distinct(Subscriber.id)))
        .join(Subscription, Subscription.subscriber_id == Subscriber.id)
        .where(*_eligibility(session, campaign_id))
        .group_by(Subscriber.timezone)
    )
    return {str(zone): int(count) for zone, count in rows}


def released(campaign_id: int) -> ColumnElement[bool]:
    """Deliveries whose time has come: no ``not_before``, or one the campaign has released."""
    released_until = (
        select(Campaign.released_until).where(Campaign.id == campaign_id).scalar_subquery()
    )
    return or_(Delivery.not_before.is_(None), Delivery.not_before <= released_until)


def count_deliveries(session: Session, campaign_id: int) -> int:
    """How many deliveries the campaign has, in any status."""
    return (
        session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.campaign_id == campaign_id)
        )
        or 0
    )


def recipient_languages(session: Session, campaign_id: int) -> list[str]:
    """The distinct preferred languages of the campaign's eligible recipients."""
    return list(
        session.scalars(
            select(Subscriber.language)
            .join(Subscription, Subscription.subscriber_id == Subscriber.id)
            .where(*_eligibility(session, campaign_id))
            .distinct()
        )
    )


def queued_ranges(
    session: Session,
    campaign_id: int,
    size: int,
    *,
    after: int = 0,
    released_after: datetime | None = None,
) -> Iterator[tuple[int, int]]:
    """Consecutive (first id, last id) ranges of at most ``size`` queued, released deliveries
    with ids above ``after`` (keyset); with ``released_after``, only the rows whose
    ``not_before`` came after it (those a tick has just released).

    Only the boundaries travel: each step asks the index for the id ``size`` rows further on.
    """
    queued = and_(
        Delivery.campaign_id == campaign_id,
        Delivery.status == DeliveryStatus.QUEUED,
        released(campaign_id),
    )
    if released_after is not None:
        queued = and_(queued, Delivery.not_before > released_after)
    while True:
        first = session.scalar(
            select(Delivery.id).where(queued, Delivery.id > after).order_by(Delivery.id).limit(1)
        )
        if first is None:
            return
        last = session.scalar(
            select(Delivery.id)
            .where(queued, Delivery.id >= first)
            .order_by(Delivery.id)
            .offset(size - 1)
            .limit(1)
        )
        if last is None:
            last = session.scalar(select(func.max(Delivery.id)).where(queued))
            assert last is not None
        yield first, last
        after = last


def skip_ineligible(session: Session, campaign_id: int, first_id: int, last_id: int) -> int:
    """Mark ``skipped`` the queued rows whose recipient left since planning (unsubscribed…)."""
    still_eligible = (
        select(Subscription.subscriber_id)
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .where(
            Subscription.subscriber_id == Delivery.subscriber_id,
            *_eligibility(session, campaign_id),
        )
    )
    result = session.execute(
        update(Delivery)
        .where(in_range(campaign_id, first_id, last_id), Delivery.status == DeliveryStatus.QUEUED)
        .where(~exists(still_eligible))
        .values(status=DeliveryStatus.SKIPPED, error="recipient no longer eligible")
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def in_range(campaign_id: int, first_id: int, last_id: int) -> ColumnElement[bool]:
    """The condition selecting one batch: a campaign's deliveries with ids in a closed range."""
    return and_(
        Delivery.campaign_id == campaign_id, Delivery.id >= first_id, Delivery.id <= last_id
    )


def delivery_counts(session: Session, campaign_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Deliveries per status for each campaign."""
    counts: dict[int, dict[str, int]] = {campaign_id: {} for campaign_id in campaign_ids}
    rows = session.execute(
        select(Delivery.campaign_id, Delivery.status, func.count())
        .where(Delivery.campaign_id.in_(campaign_ids))
        .group_by(Delivery.campaign_id, Delivery.status)
    )
    for campaign_id, status, count in rows:
        counts[campaign_id][status] = count
    return counts


def touch_progress(session: Session, campaign_id: int) -> None:
    """Note that the campaign made progress (the sweeper re-enqueues stalled campaigns)."""
    session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id)
        .values(last_progress_at=utcnow(), consecutive_failures=0)
    )


def count_failed_batch(session: Session, campaign_id: int) -> int:
    """Note one more batch that failed as a whole; return how many failed in a row."""
    failures = session.scalar(
        update(Campaign)
        .where(Campaign.id == campaign_id)
        .values(consecutive_failures=Campaign.consecutive_failures + 1)
        .returning(Campaign.consecutive_failures)
    )
    return int(failures or 0)
