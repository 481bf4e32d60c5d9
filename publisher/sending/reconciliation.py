"""Reconciliation: rows whose request left but whose answer never came, settled by asking
the provider what it accepted.

Such rows stay in ``sending`` with an ended lease (never ``unknown`` while an answer may
still come). Once the settle window has passed (a provider's search index may lag behind
its send API) the sweeper asks the provider about them: a message it accepted becomes
``sent`` with the provider's message id, one it never saw goes back to ``queued`` (it never
left, so sending it is no second send), and one it cannot answer for waits for the next
sweep, until :data:`~publisher.sending.attempts.RECONCILE_WINDOW` makes it ``unknown``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.orm import Session

from core.providers.base import Dispatched, Sighting
from publisher.sending.attempts import RECONCILE_WINDOW, back_in_queue
from publisher.sending.models import Delivery, DeliveryStatus
from subscribers.models import Subscriber


@dataclass(slots=True)
class Reconciled:
    """What one round of reconciliation did."""

    sent: int = 0
    requeued: list[tuple[int, int]] = field(default_factory=list)
    """(campaign id, delivery id) of the rows the provider never saw, back in the queue."""


def _in_doubt(provider: str, *, now: datetime) -> ColumnElement[bool]:
    return and_(
        Delivery.status == DeliveryStatus.SENDING,
        Delivery.lease_until < now,
        Delivery.dispatched_at.is_not(None),
        Delivery.dispatched_at > now - RECONCILE_WINDOW,
        Delivery.provider == provider,
    )


def awaiting_reconcile(
    session: Session, *, provider: str, now: datetime, settle: timedelta, limit: int
) -> list[Dispatched]:
    """Up to ``limit`` dispatched rows of ``provider`` whose sender stopped and whose
    dispatch is at least ``settle`` old, oldest dispatch first."""
    rows = session.execute(
        select(Delivery.id, Delivery.campaign_id, Subscriber.email, Delivery.dispatched_at)
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .where(_in_doubt(provider, now=now), Delivery.dispatched_at <= now - settle)
        .order_by(Delivery.dispatched_at, Delivery.id)
        .limit(limit)
    ).all()
    return [
        Dispatched(str(delivery_id), str(campaign_id), email, dispatched_at)
        for delivery_id, campaign_id, email, dispatched_at in rows
        if dispatched_at is not None  # always so: the query asks for it
    ]


def apply_sightings(
    session: Session, sightings: Sequence[Sighting], *, provider: str, now: datetime
) -> Reconciled:
    """Settle the rows the provider answered for: seen → ``sent``, never seen → ``queued``
    (``cancelled`` if the campaign was cancelled meanwhile). Rows that stopped being in
    doubt since they were read are left as they are."""
    done = Reconciled()
    doubt = _in_doubt(provider, now=now)
    for sighting in (s for s in sightings if s.seen):
        done.sent += _mark_sent(session, sighting, doubt, now=now)
    unseen = [int(s.key) for s in sightings if not s.seen]
    if unseen:
        done.requeued = _requeue(session, unseen, doubt)
    return done


def _mark_sent(
    session: Session, sighting: Sighting, doubt: ColumnElement[bool], *, now: datetime
) -> int:
    result = session.execute(
        update(Delivery)
        .where(Delivery.id == int(sighting.key), doubt)
        .values(
            status=DeliveryStatus.SENT,
            provider_message_id=sighting.provider_message_id,
            sent_at=Delivery.dispatched_at,
            lease_until=None,
            error="",
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _requeue(session: Session, ids: list[int], doubt: ColumnElement[bool]) -> list[tuple[int, int]]:
    back = session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids), doubt)
        .values(**back_in_queue())
        .returning(Delivery.campaign_id, Delivery.id, Delivery.status)
        .execution_options(synchronize_session=False)
    ).all()
    return sorted(
        (campaign_id, delivery_id)
        for campaign_id, delivery_id, status in back
        if status == DeliveryStatus.QUEUED
    )
