"""Per-list daily aggregates and per-campaign unsubscribes, from the activity log.

The follower (:func:`follow_activity`, run by the scheduler) adds each new activity row to
its list's day, and a campaign-attributed unsubscribe to the campaign's unsubscribers (once
per person and campaign, however many lists they left), moving its cursor in the same unit
of work. :func:`snapshot_list_sizes` records each list's confirmed subscriptions for today,
at most every :data:`SIZE_EVERY` (one grouped count over an index).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.activity import ActivityEvent, ActivityKind
from core.database import insert_ignoring_conflicts, utcnow
from publisher.stats import aggregates, cursors
from publisher.stats.counting import add_counts
from publisher.stats.models import CampaignUnsubscriber, ListDay
from subscribers.models import Subscription, SubscriptionStatus

CURSOR = "lists"
SIZE_CURSOR = "list_sizes"
SIZE_EVERY = timedelta(minutes=10)
LIST_KINDS = {
    "subscriber.subscribed": "subscribed",
    "subscriber.confirmed": "confirmed",
    "subscriber.unsubscribed": "unsubscribed",
    "subscriber.bounced": "bounced",
    "subscriber.complained": "complained",
    "subscriber.erased": "erased",
}
DAY_COUNTS = tuple(LIST_KINDS.values())


def follow_activity(session: Session, *, now: datetime | None = None) -> int:
    """Apply the next activity rows to the list and campaign aggregates; return how many."""
    cursor = cursors.claim_cursor(session, CURSOR)
    rows = cursors.next_activity(session, cursor, now=now)
    count_list_days(session, rows)
    count_unsubscribers(session, rows)
    cursors.advance(cursor, rows)
    return len(rows)


def count_list_days(session: Session, rows: Sequence[ActivityEvent]) -> None:
    """Add the rows about subscriptions to their list's day."""
    days: Counter[tuple[int, date, str]] = Counter()
    for row in rows:
        name = LIST_KINDS.get(row.kind)
        if name is not None and row.list_id is not None:
            days[(row.list_id, row.at.date(), name)] += 1
    add_counts(session, ListDay, _day_rows(days), keys=["list_id", "day"])


def _day_rows(days: Counter[tuple[int, date, str]]) -> list[dict[str, object]]:
    rows: dict[tuple[int, date], dict[str, object]] = {}
    for (list_id, day, name), count in days.items():
        row = rows.setdefault(
            (list_id, day), {"list_id": list_id, "day": day, **dict.fromkeys(DAY_COUNTS, 0)}
        )
        row[name] = count
    return list(rows.values())


def count_unsubscribers(session: Session, rows: Sequence[ActivityEvent]) -> None:
    """Add each campaign-attributed unsubscribe to the campaign, once per person."""
    pairs = sorted(
        {
            (row.campaign_id, row.subscriber_id)
            for row in rows
            if row.kind == ActivityKind.SUBSCRIBER_UNSUBSCRIBED
            and row.campaign_id
            and row.subscriber_id
        }
    )
    if not pairs:
        return
    insert = insert_ignoring_conflicts(
        session, CampaignUnsubscriber, index_elements=["campaign_id", "subscriber_id"]
    )
    stored = session.execute(
        insert.returning(CampaignUnsubscriber.campaign_id),
        [{"campaign_id": c, "subscriber_id": s} for c, s in pairs],
    ).scalars()
    deltas = {c: Counter({"unsubscribed": n}) for c, n in Counter(stored).items()}
    aggregates.add_campaign_counts(session, deltas)


def snapshot_list_sizes(session: Session, *, now: datetime | None = None) -> bool:
    """Record each list's confirmed size for today, unless done within :data:`SIZE_EVERY`."""
    now = now or utcnow()
    cursor = cursors.claim_cursor(session, SIZE_CURSOR)
    if cursor.position and now - cursor.updated_at < SIZE_EVERY:
        return False
    sizes = session.execute(
        select(Subscription.list_id, func.count())
        .where(Subscription.status == SubscriptionStatus.CONFIRMED)
        .group_by(Subscription.list_id)
    ).all()
    rows = [
        {"list_id": list_id, "day": now.date(), **dict.fromkeys(DAY_COUNTS, 0), "size": size}
        for list_id, size in sizes
    ]
    add_counts(session, ListDay, rows, keys=["list_id", "day"], replace=["size"])
    cursor.position += 1
    cursor.updated_at = now
    return True
