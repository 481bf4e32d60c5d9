"""Ingesting what providers report about deliveries: each event once, outcomes only forward.

A batch of verified :class:`ProviderEvent` values is handled set-based, in a few statements:

1. the deliveries the events name are looked up (an id we did not issue is never trusted: the
   event is stored without a delivery and counted as unmatched);
2. the events are inserted with ``ON CONFLICT (source, event_id) DO NOTHING``, so a provider's
   retry changes nothing, and only the events inserted now have effects;
3. each delivery's ``outcome`` moves forward only, by :data:`OUTCOME_RANKS` (a late "delivered"
   never undoes a bounce); opens and clicks imply delivered and set ``opened_at`` and
   ``clicked_at`` to the earliest a person made (a machine's are stored, flagged, and set
   neither);
4. the campaign statistics take in what the new events changed, in this same unit of work
   (:mod:`publisher.stats.aggregates`: the touched deliveries are locked first, so a
   concurrent ingest cannot move them between the before and after reads);
5. hard bounces and complaints suppress the address (the delivery's subscriber's, or for an
   event naming no delivery of ours, the one it names) and end all its subscriptions; soft
   bounces do not; an unsubscribe takes the subscriber off the lists the campaign was sent to.
   Each subscription ended is written to the activity log (``subscriber.bounced``,
   ``subscriber.complained``, ``subscriber.unsubscribed`` with the campaign).

Nothing here commits: the caller's unit of work does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, bindparam, case, or_, select, update
from sqlalchemy.orm import Session

from core.activity import ActivityKind, record_activity
from core.database import insert_ignoring_conflicts, utcnow
from core.providers.events import EventType, ProviderEvent
from publisher.campaigns.models import CampaignList
from publisher.sending.models import Delivery
from publisher.stats import aggregates
from publisher.tracking.models import DeliveryEvent
from subscribers.models import (
    Subscriber,
    Subscription,
    SubscriptionStatus,
    Suppression,
    SuppressionReason,
)
from subscribers.suppression import suppressed_addresses

OUTCOME_RANKS: tuple[tuple[str, ...], ...] = (
    ("",),
    ("deferred",),
    ("delivered",),
    ("bounced", "failed"),
    ("complained",),
)
"""Outcomes from least to most final; an outcome is only ever replaced by a higher one."""
RANK = {outcome: rank for rank, group in enumerate(OUTCOME_RANKS) for outcome in group}
IMPLIED_OUTCOME = {
    "delivered": "delivered",
    "deferred": "deferred",
    "bounced": "bounced",
    "failed": "failed",
    "complained": "complained",
    "opened": "delivered",
    "clicked": "delivered",
}
"""The outcome each event type implies (an unsubscribe implies none)."""
SUPPRESSING = {
    EventType.COMPLAINED: SuppressionReason.COMPLAINT,
    EventType.BOUNCED: SuppressionReason.HARD_BOUNCE,
}
"""Suppression reasons, by event type (a bounce only when hard)."""
UNSUBSCRIBED_VIA = {
    SuppressionReason.HARD_BOUNCE: "bounce",
    SuppressionReason.COMPLAINT: "complaint",
}
ACTIVITY_OF = {
    "bounce": ActivityKind.SUBSCRIBER_BOUNCED,
    "complaint": ActivityKind.SUBSCRIBER_COMPLAINED,
}
"""The activity logged for each subscription a bounce or complaint ends."""
MAX_EVENT_ID = 200
MAX_RECIPIENT = 320

_deliveries = cast(Table, Delivery.__table__)
_subscriptions = cast(Table, Subscription.__table__)


@dataclass(frozen=True, slots=True)
class Target:
    """What an event's delivery tells about it: the campaign and the subscriber's address."""

    campaign_id: int
    subscriber_id: int
    email: str


@dataclass(frozen=True, slots=True)
class Ingested:
    """What one batch did: events received, stored now (not seen before), stored unmatched."""

    received: int
    recorded: int
    unmatched: int

    @property
    def duplicates(self) -> int:
        """Events already stored by an earlier delivery of the same webhook."""
        return self.received - self.recorded


def record_events(session: Session, source: str, events: Sequence[ProviderEvent]) -> int:
    """Store ``source``'s events and apply the new ones; return how many were new."""
    return ingest_events(session, source, events).recorded


def ingest_events(session: Session, source: str, events: Sequence[ProviderEvent]) -> Ingested:
    """Store ``source``'s events once each and apply what the new ones say (see module)."""
    unique = _first_of_each(events)
    targets = find_targets(session, {e.delivery_id for e in unique if e.delivery_id})
    aggregates.lock_deliveries(session, targets)
    before = aggregates.delivery_states(session, targets)
    stored = _insert_new(session, source, unique, targets)
    new = [event for event in unique if _fit(event.event_id) in stored]
    known = [(event, targets[event.delivery_id]) for event in new if event.delivery_id in targets]
    matched = [event for event, _ in known]
    advance_outcomes(session, matched)
    mark_first_engagement(session, matched)
    _count(session, source, new, matched, before, targets)
    suppress_addresses(session, new, targets)
    unsubscribe_from_campaigns(session, source, known)
    return Ingested(received=len(events), recorded=len(new), unmatched=len(new) - len(known))


def _count(
    session: Session,
    source: str,
    new: list[ProviderEvent],
    matched: list[ProviderEvent],
    before: dict[int, aggregates.DeliveryState],
    targets: dict[int, Target],
) -> None:
    """Add the newly stored events to the statistics (see :mod:`publisher.stats.aggregates`)."""
    touched = {event.delivery_id for event in matched if event.delivery_id is not None}
    after = aggregates.delivery_states(session, touched)
    aggregates.count_state_changes(session, {i: before[i] for i in touched}, after)
    campaigns = {delivery_id: target.campaign_id for delivery_id, target in targets.items()}
    aggregates.count_events(session, aggregates.provider_events(matched, campaigns))
    aggregates.count_deferrals(session, source, new)


def _first_of_each(events: Sequence[ProviderEvent]) -> list[ProviderEvent]:
    """The events without repeats of an event id (a batch may carry one twice)."""
    seen: dict[str, ProviderEvent] = {}
    for event in events:
        seen.setdefault(_fit(event.event_id), event)
    return list(seen.values())


def find_targets(session: Session, delivery_ids: Iterable[int | None]) -> dict[int, Target]:
    """The deliveries among ``delivery_ids`` that exist, with their campaign and address."""
    wanted = sorted({i for i in delivery_ids if i is not None})
    if not wanted:
        return {}
    rows = session.execute(
        select(Delivery.id, Delivery.campaign_id, Delivery.subscriber_id, Subscriber.email)
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .where(Delivery.id.in_(wanted))
    )
    return {row.id: Target(row.campaign_id, row.subscriber_id, row.email) for row in rows}


def _insert_new(
    session: Session, source: str, events: list[ProviderEvent], targets: dict[int, Target]
) -> set[str]:
    """Insert the events not stored yet; return the event ids inserted now."""
    if not events:
        return set()
    received_at = utcnow()
    # In event id order, so two batches sharing events take their locks in the same order.
    rows = sorted((_row(source, e, targets, received_at) for e in events), key=_by_event_id)
    insert = insert_ignoring_conflicts(
        session, DeliveryEvent.__table__, index_elements=["source", "event_id"]
    )
    inserted = session.execute(insert.returning(DeliveryEvent.__table__.c.event_id), rows)
    return set(inserted.scalars())


def _by_event_id(row: dict[str, Any]) -> str:
    return str(row["event_id"])


def _row(
    source: str, event: ProviderEvent, targets: dict[int, Target], received_at: datetime
) -> dict[str, Any]:
    target = targets.get(event.delivery_id) if event.delivery_id else None
    return {
        "source": source,
        "event_id": _fit(event.event_id),
        "delivery_id": event.delivery_id if target else None,
        "campaign_id": target.campaign_id if target else None,
        "type": event.type,
        "bounce": event.bounce,
        "recipient": event.recipient[:MAX_RECIPIENT],
        "machine": event.machine,
        "occurred_at": _aware(event.occurred_at),
        "received_at": received_at,
        "details": event.details,
    }


def _fit(event_id: str) -> str:
    """The event id, hashed when it is longer than the column (the same id hashes the same)."""
    if len(event_id) <= MAX_EVENT_ID:
        return event_id
    return f"sha256:{hashlib.sha256(event_id.encode()).hexdigest()}"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def rank_of(outcome: ColumnElement[str]) -> ColumnElement[int]:
    """The rank of a stored outcome, in SQL (unknown values rank lowest)."""
    ranked = {value: rank for value, rank in RANK.items() if rank}
    return case(ranked, value=outcome, else_=0)


def advance_outcomes(session: Session, events: list[ProviderEvent]) -> None:
    """Move each delivery's outcome to its highest new one, unless it already is as high."""
    best: dict[int, tuple[int, datetime, str]] = {}
    for event in events:
        outcome = IMPLIED_OUTCOME.get(event.type)
        if outcome is None or event.delivery_id is None:
            continue
        candidate = (RANK[outcome], _aware(event.occurred_at), outcome)
        current = best.get(event.delivery_id)
        if current is None or _beats(candidate, current):
            best[event.delivery_id] = candidate
    if not best:
        return
    statement = (
        update(_deliveries)
        .where(
            _deliveries.c.id == bindparam("b_id"),
            rank_of(_deliveries.c.outcome) < bindparam("b_rank"),
        )
        .values(outcome=bindparam("b_outcome"), outcome_at=bindparam("b_at"))
    )
    params = [
        {"b_id": delivery_id, "b_rank": rank, "b_outcome": outcome, "b_at": at}
        for delivery_id, (rank, at, outcome) in sorted(best.items())
    ]
    session.execute(statement, params)


def _beats(candidate: tuple[int, datetime, str], current: tuple[int, datetime, str]) -> bool:
    """The higher rank wins; between equal ranks, the earlier event."""
    if candidate[0] != current[0]:
        return candidate[0] > current[0]
    return candidate[1] < current[1]


def mark_first_engagement(session: Session, events: list[ProviderEvent]) -> None:
    """Set ``opened_at`` and ``clicked_at`` to a person's earliest open and click."""
    for event_type, column in ((EventType.OPENED, "opened_at"), (EventType.CLICKED, "clicked_at")):
        earliest: dict[int, datetime] = {}
        for event in events:
            if event.type == event_type and not event.machine and event.delivery_id:
                at = _aware(event.occurred_at)
                earliest[event.delivery_id] = min(at, earliest.get(event.delivery_id, at))
        if earliest:
            _set_earliest(session, column, earliest)


def _set_earliest(session: Session, column_name: str, earliest: dict[int, datetime]) -> None:
    column = _deliveries.c[column_name]
    statement = (
        update(_deliveries)
        .where(
            _deliveries.c.id == bindparam("b_id"),
            or_(column.is_(None), column > bindparam("b_at")),
        )
        .values({column_name: bindparam("b_at")})
    )
    params = [{"b_id": i, "b_at": at} for i, at in sorted(earliest.items())]
    session.execute(statement, params)


def suppress_addresses(
    session: Session, events: list[ProviderEvent], targets: dict[int, Target]
) -> None:
    """Suppress the addresses of hard bounces and complaints and end their subscriptions."""
    reasons: dict[str, str] = {}
    for event in events:
        reason = SUPPRESSING.get(event.type)
        if reason is None or (event.type == EventType.BOUNCED and event.bounce != "hard"):
            continue
        target = targets.get(event.delivery_id) if event.delivery_id else None
        email = target.email if target else event.recipient
        if email and reasons.get(email) != SuppressionReason.COMPLAINT:
            reasons[email] = reason
    if not reasons:
        return
    now = utcnow()
    # An erased address is suppressed by its hash alone: writing it out again would undo
    # the erasure, and it is already never mailed.
    already = suppressed_addresses(session, reasons)
    rows = [
        {"email": e, "reason": r, "created_at": now}
        for e, r in sorted(reasons.items())
        if e not in already
    ]
    if rows:
        insert = insert_ignoring_conflicts(session, Suppression.__table__, index_elements=["email"])
        session.execute(insert, rows)
    for reason, via in UNSUBSCRIBED_VIA.items():
        emails = sorted(email for email, why in reasons.items() if why == reason)
        if emails:
            _end_subscriptions(session, emails, via, now)


def _end_subscriptions(session: Session, emails: list[str], via: str, now: datetime) -> None:
    people = select(Subscriber.id).where(Subscriber.email.in_(emails))
    ended = session.execute(
        update(_subscriptions)
        .where(
            _subscriptions.c.subscriber_id.in_(people),
            _subscriptions.c.status != SubscriptionStatus.UNSUBSCRIBED,
        )
        .values(status=SubscriptionStatus.UNSUBSCRIBED, unsubscribed_at=now, unsubscribed_via=via)
        .returning(_subscriptions.c.subscriber_id, _subscriptions.c.list_id)
    ).all()
    for subscriber_id, list_id in sorted(ended):
        record_activity(
            session, ACTIVITY_OF[via], list_id=list_id, subscriber_id=subscriber_id, at=now
        )


def unsubscribe_from_campaigns(
    session: Session, source: str, known: list[tuple[ProviderEvent, Target]]
) -> None:
    """Take each unsubscribing recipient off the lists their campaign was sent to."""
    wanted = sorted(
        {(t.subscriber_id, t.campaign_id) for e, t in known if e.type == EventType.UNSUBSCRIBED}
    )
    if not wanted:
        return
    now = utcnow()
    for subscriber_id, campaign_id in wanted:  # few: people rarely unsubscribe via a provider
        via = f"{source} (campaign:{campaign_id})"
        lists = select(CampaignList.list_id).where(CampaignList.campaign_id == campaign_id)
        left = session.execute(
            update(_subscriptions)
            .where(
                _subscriptions.c.subscriber_id == subscriber_id,
                _subscriptions.c.list_id.in_(lists),
                _subscriptions.c.status != SubscriptionStatus.UNSUBSCRIBED,
            )
            .values(
                status=SubscriptionStatus.UNSUBSCRIBED, unsubscribed_at=now, unsubscribed_via=via
            )
            .returning(_subscriptions.c.list_id)
        ).scalars()
        for list_id in sorted(left):
            record_activity(
                session,
                ActivityKind.SUBSCRIBER_UNSUBSCRIBED,
                list_id=list_id,
                subscriber_id=subscriber_id,
                campaign_id=campaign_id,
                data={"via": via},
                at=now,
            )
