"""Deliveries: one row per campaign and recipient, planned set-based, claimed with a lease.

The row is what makes sending exactly-once: a batch is *claimed* (queued → sending, with an
attempt id and a lease) in the same commit that precedes the provider call, so a row in
``sending`` always means "the request may have left". When its lease expires the sweeper
decides: back to ``queued`` if the provider is idempotent on our keys, else ``unknown``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    bindparam,
    exists,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Session

from core.database import UTCDateTime, insert_ignoring_conflicts, utcnow
from core.providers.base import SendResult
from publisher.models import Campaign, CampaignList, Delivery
from subscribers.models import Subscriber, Subscription, Suppression

PLAN_CHUNK = 50_000
OPEN_STATUSES = ("queued", "sending")


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery claimed for sending, with what rendering needs of its subscriber."""

    id: int
    subscriber_id: int
    email: str
    name: str
    language: str


def _campaign_list_ids(campaign_id: int) -> Any:
    return select(CampaignList.list_id).where(CampaignList.campaign_id == campaign_id)


def _eligibility(campaign_id: int) -> list[ColumnElement[bool]]:
    """Conditions (over Subscription joined to Subscriber) for being mailed by the campaign."""
    return [
        Subscription.list_id.in_(_campaign_list_ids(campaign_id)),
        Subscription.status == "confirmed",
        Subscriber.status == "active",
        ~exists().where(Suppression.email == Subscriber.email),
    ]


def plan_deliveries(session: Session, campaign_id: int, *, chunk: int = PLAN_CHUNK) -> int:
    """Create a queued delivery for every eligible recipient; return the campaign's total.

    Set-based, in subscriber-id chunks so no statement holds the whole list; recipients on
    several lists get one delivery; re-planning inserts nothing new.
    """
    highest = session.scalar(select(func.max(Subscriber.id))) or 0
    now = literal(utcnow(), UTCDateTime)
    for low in range(0, highest, chunk):
        eligible = (
            select(literal(campaign_id), Subscription.subscriber_id, literal("queued"), now)
            .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
            .where(*_eligibility(campaign_id))
            .where(Subscription.subscriber_id > low, Subscription.subscriber_id <= low + chunk)
            .distinct()
        )
        insert = insert_ignoring_conflicts(
            session, Delivery, index_elements=["campaign_id", "subscriber_id"]
        )
        session.execute(
            insert.from_select(["campaign_id", "subscriber_id", "status", "created_at"], eligible)
        )
    return count_deliveries(session, campaign_id)


def count_deliveries(session: Session, campaign_id: int) -> int:
    """How many deliveries the campaign has, in any status."""
    return (
        session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.campaign_id == campaign_id)
        )
        or 0
    )


def recipient_languages(session: Session, campaign_id: int) -> list[str]:
    """The distinct preferred languages of the campaign's recipients."""
    return list(
        session.scalars(
            select(Subscriber.language)
            .join(Delivery, Delivery.subscriber_id == Subscriber.id)
            .where(Delivery.campaign_id == campaign_id)
            .distinct()
        )
    )


def queued_ranges(session: Session, campaign_id: int, size: int) -> Iterator[tuple[int, int]]:
    """Consecutive (first id, last id) ranges of at most ``size`` queued deliveries (keyset)."""
    last = 0
    while True:
        ids = session.scalars(
            select(Delivery.id)
            .where(Delivery.campaign_id == campaign_id, Delivery.status == "queued")
            .where(Delivery.id > last)
            .order_by(Delivery.id)
            .limit(size)
        ).all()
        if not ids:
            return
        yield ids[0], ids[-1]
        last = ids[-1]


def skip_ineligible(session: Session, campaign_id: int, first_id: int, last_id: int) -> int:
    """Mark ``skipped`` the queued rows whose recipient left since planning (unsubscribed…)."""
    still_eligible = (
        select(Subscription.subscriber_id)
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .where(Subscription.subscriber_id == Delivery.subscriber_id, *_eligibility(campaign_id))
    )
    result = session.execute(
        update(Delivery)
        .where(_in_range(campaign_id, first_id, last_id), Delivery.status == "queued")
        .where(~exists(still_eligible))
        .values(status="skipped", error="recipient no longer eligible")
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _in_range(campaign_id: int, first_id: int, last_id: int) -> ColumnElement[bool]:
    return and_(
        Delivery.campaign_id == campaign_id, Delivery.id >= first_id, Delivery.id <= last_id
    )


def claim_batch(
    session: Session,
    campaign_id: int,
    first_id: int,
    last_id: int,
    *,
    attempt_id: str,
    provider: str,
    lease: timedelta,
) -> list[ClaimedDelivery]:
    """Claim the range's queued rows for this attempt and return them with their subscribers."""
    now = utcnow()
    session.execute(
        update(Delivery)
        .where(_in_range(campaign_id, first_id, last_id), Delivery.status == "queued")
        .values(
            status="sending",
            attempt_id=attempt_id,
            provider=provider,
            lease_until=now + lease,
            dispatched_at=now,
            attempts=Delivery.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    rows = session.execute(
        select(Delivery.id, Subscriber.id, Subscriber.email, Subscriber.name, Subscriber.language)
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .where(Delivery.attempt_id == attempt_id)
        .order_by(Delivery.id)
    ).all()
    return [ClaimedDelivery(*row) for row in rows]


def record_results(session: Session, results: Sequence[SendResult]) -> tuple[int, int]:
    """Store the provider's answer per delivery; return (accepted, rejected)."""
    now = utcnow()
    rows = [
        {
            "b_id": int(result.key),
            "b_status": "sent" if result.accepted else "failed",
            "b_message_id": result.provider_message_id,
            "b_error": result.error or "",
            "b_sent_at": now if result.accepted else None,
        }
        for result in results
    ]
    if rows:
        table = cast(Table, Delivery.__table__)
        session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(
                status=bindparam("b_status"),
                provider_message_id=bindparam("b_message_id"),
                error=bindparam("b_error"),
                sent_at=bindparam("b_sent_at"),
                lease_until=None,
            ),
            rows,
        )
    accepted = sum(1 for result in results if result.accepted)
    return accepted, len(results) - accepted


def release_attempt(session: Session, attempt_id: str, *, status: str, error: str = "") -> int:
    """End an attempt whose call failed as a whole: its rows go to queued, failed or unknown."""
    values: dict[str, Any] = {"status": status, "lease_until": None, "error": error}
    if status == "queued":
        values["attempt_id"] = None
    result = session.execute(
        update(Delivery)
        .where(Delivery.attempt_id == attempt_id, Delivery.status == "sending")
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def expire_leases(session: Session, *, now: datetime, idempotent_providers: set[str]) -> set[int]:
    """Resolve rows whose sender died: re-queue where re-sending is safe, else ``unknown``.

    Returns the ids of campaigns that got rows back in the queue.
    """
    expired = and_(Delivery.status == "sending", Delivery.lease_until < now)
    requeue = expired & Delivery.provider.in_(sorted(idempotent_providers))
    campaigns = set(session.scalars(select(Delivery.campaign_id).where(requeue).distinct()))
    session.execute(
        update(Delivery)
        .where(requeue)
        .values(status="queued", attempt_id=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Delivery)
        .where(expired)
        .values(status="unknown", lease_until=None, error="sender stopped after the request left")
        .execution_options(synchronize_session=False)
    )
    return campaigns


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
        update(Campaign).where(Campaign.id == campaign_id).values(last_progress_at=utcnow())
    )
