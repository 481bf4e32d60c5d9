"""Campaign aggregates, bumped in the same unit of work as the events that change them.

Why here and not by following ``delivery_events`` with a cursor: event ids are taken when a
row is inserted but become visible when its transaction commits, so a follower reading "ids
above my cursor" can step over a row a slower transaction commits later and never count it.
Bumping the counters in the transaction that inserts the event has no such gap, and it is
exactly once for free: only rows the insert actually stored (``RETURNING``) are counted, so
a provider's retry or a replayed webhook adds nothing.

Two kinds of numbers are kept:

- **event counts** (total opens, clicks, per link, the hourly timeline, deferrals per
  provider) are added for each newly stored event;
- **delivery counts** (delivered, deferred, bounced hard/soft, failed, complained, unique
  opens and clicks) describe where each delivery *stands*. They are kept by reading the
  deliveries an ingest touches before and after it (locked, so no other unit of work moves
  them in between) and adding the difference. Whatever order events arrive in, each
  delivery ends in the same state (outcomes only move forward; a delivery is "hard" bounced
  when any of its bounces was hard), so the final counts do not depend on arrival order.

:func:`publisher.stats.rebuild.rebuild_campaign_stats` computes the same numbers from
scratch; the tests check both paths agree.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, case, exists, select
from sqlalchemy.orm import Session

from core.providers.events import EventType, ProviderEvent
from publisher.sending.models import Delivery
from publisher.stats.counting import add_counts
from publisher.stats.models import (
    CAMPAIGN_COUNTERS,
    CampaignHour,
    CampaignLink,
    CampaignStats,
    ProviderMinute,
)
from publisher.tracking.models import DeliveryEvent

MACHINE_KINDS = {"opened": "machine_opened", "clicked": "machine_clicked"}
TOTALS = {
    "opened": "opens",
    "clicked": "clicks",
    "machine_opened": "machine_opens",
    "machine_clicked": "machine_clicks",
}
"""The CampaignStats total each timeline kind adds to (the others count deliveries)."""


@dataclass(frozen=True, slots=True)
class DeliveryState:
    """Where one delivery stands, as the campaign counts see it."""

    campaign_id: int
    bucket: str
    """One of :data:`publisher.stats.models.OUTCOME_BUCKETS`, or "" with no outcome yet."""
    opened: bool
    clicked: bool


@dataclass(frozen=True, slots=True)
class CountedEvent:
    """What an event adds to its campaign's counts."""

    campaign_id: int
    type: str
    machine: bool
    occurred_at: datetime
    url: str = ""


def bucket_of(outcome: str, hard: bool) -> str:
    """The counting bucket of a stored outcome (bounces split by hard or soft)."""
    if outcome == "bounced":
        return "bounced_hard" if hard else "bounced_soft"
    return outcome


def lock_deliveries(session: Session, delivery_ids: Iterable[int]) -> None:
    """Lock the deliveries an ingest will change, in id order, until the unit of work ends.

    ``FOR NO KEY UPDATE`` is the lock an ``UPDATE`` takes anyway; taking it first means the
    states read next cannot change before the ingest's own updates. (SQLite has one writer.)
    """
    wanted = sorted(set(delivery_ids))
    if wanted and session.get_bind().dialect.name == "postgresql":
        session.execute(
            select(Delivery.id)
            .where(Delivery.id.in_(wanted))
            .order_by(Delivery.id)
            .with_for_update(key_share=True)
        ).all()


def delivery_states(session: Session, delivery_ids: Iterable[int]) -> dict[int, DeliveryState]:
    """The current state of each of the given deliveries."""
    wanted = sorted(set(delivery_ids))
    if not wanted:
        return {}
    hard = hard_bounce_expression()
    rows = session.execute(
        select(
            Delivery.id,
            Delivery.campaign_id,
            Delivery.outcome,
            hard.label("hard"),
            Delivery.opened_at.is_not(None).label("opened"),
            Delivery.clicked_at.is_not(None).label("clicked"),
        ).where(Delivery.id.in_(wanted))
    )
    return {
        row.id: DeliveryState(
            row.campaign_id, bucket_of(row.outcome, bool(row.hard)), row.opened, row.clicked
        )
        for row in rows
    }


def hard_bounce_expression() -> ColumnElement[bool]:
    """In SQL over ``deliveries``: bounced, and at least one of its bounces was hard."""
    return case(
        (
            Delivery.outcome == "bounced",
            exists().where(
                DeliveryEvent.delivery_id == Delivery.id,
                DeliveryEvent.type == EventType.BOUNCED,
                DeliveryEvent.bounce == "hard",
            ),
        ),
        else_=False,
    )


def count_state_changes(
    session: Session, before: dict[int, DeliveryState], after: dict[int, DeliveryState]
) -> None:
    """Add to each campaign's delivery counts what moved between ``before`` and ``after``."""
    deltas: dict[int, Counter[str]] = {}
    for delivery_id, new in after.items():
        old = before.get(delivery_id, DeliveryState(new.campaign_id, "", False, False))
        delta = deltas.setdefault(new.campaign_id, Counter())
        if old.bucket != new.bucket:
            delta[old.bucket] -= 1
            delta[new.bucket] += 1
        delta["opened"] += int(new.opened) - int(old.opened)
        delta["clicked"] += int(new.clicked) - int(old.clicked)
    add_campaign_counts(session, deltas)


def add_campaign_counts(session: Session, deltas: dict[int, Counter[str]]) -> None:
    """Add ``deltas`` (counter name → change, per campaign) to the campaigns' totals."""
    rows = []
    for campaign_id, delta in deltas.items():
        changes = {name: n for name, n in delta.items() if name in CAMPAIGN_COUNTERS and n}
        if changes:
            rows.append(
                {"campaign_id": campaign_id, **dict.fromkeys(CAMPAIGN_COUNTERS, 0), **changes}
            )
    add_counts(session, CampaignStats, rows, keys=["campaign_id"])


def count_events(session: Session, events: Sequence[CountedEvent]) -> None:
    """Add newly stored events to totals, the hourly timeline and the per-link clicks."""
    totals: dict[int, Counter[str]] = {}
    hours: Counter[tuple[int, datetime, str]] = Counter()
    links: dict[tuple[int, str], dict[str, Any]] = {}
    for event in events:
        kind = MACHINE_KINDS.get(event.type, event.type) if event.machine else event.type
        hours[(event.campaign_id, hour_of(event.occurred_at), kind)] += 1
        if kind in TOTALS:
            totals.setdefault(event.campaign_id, Counter())[TOTALS[kind]] += 1
        if event.type == EventType.CLICKED and event.url:
            _count_link(links, event)
    add_campaign_counts(session, totals)
    rows = [{"campaign_id": c, "hour": h, "kind": k, "count": n} for (c, h, k), n in hours.items()]
    add_counts(session, CampaignHour, rows, keys=["campaign_id", "hour", "kind"])
    add_counts(
        session,
        CampaignLink,
        list(links.values()),
        keys=["campaign_id", "url_hash"],
        replace=["url"],
    )


def _count_link(links: dict[tuple[int, str], dict[str, Any]], event: CountedEvent) -> None:
    url_hash = url_key(event.url)
    row = links.setdefault(
        (event.campaign_id, url_hash),
        {
            "campaign_id": event.campaign_id,
            "url_hash": url_hash,
            "url": event.url,
            "clicks": 0,
            "machine_clicks": 0,
        },
    )
    row["machine_clicks" if event.machine else "clicks"] += 1


def url_key(url: str) -> str:
    """The key of a URL in the per-link counts."""
    return hashlib.sha256(url.encode()).hexdigest()


def hour_of(moment: datetime) -> datetime:
    """The start of the hour ``moment`` falls in, in UTC."""
    return minute_of(moment).replace(minute=0)


def minute_of(moment: datetime) -> datetime:
    """The start of the minute ``moment`` falls in, in UTC (a naive time is taken as UTC)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).replace(second=0, microsecond=0)


def count_deferrals(session: Session, source: str, events: Sequence[ProviderEvent]) -> None:
    """Add newly stored "deferred" events to the provider's health, by minute."""
    minutes = Counter(minute_of(e.occurred_at) for e in events if e.type == EventType.DEFERRED)
    rows = [{"provider": source, "minute": m, "deferrals": n} for m, n in minutes.items()]
    add_counts(session, ProviderMinute, rows, keys=["provider", "minute"])


def provider_events(
    events: Sequence[ProviderEvent], campaigns: dict[int, int]
) -> list[CountedEvent]:
    """The counted form of provider events whose delivery is known (``campaigns``: by id)."""
    return [
        CountedEvent(
            campaign_id=campaigns[event.delivery_id],
            type=event.type,
            machine=event.machine,
            occurred_at=event.occurred_at,
            url=str(event.details.get("url", "")) if event.type == EventType.CLICKED else "",
        )
        for event in events
        if event.delivery_id is not None and event.delivery_id in campaigns
    ]


def count_first_engagement(session: Session, campaign_id: int, kind: str, change: int) -> None:
    """A delivery's first open or click by a person was set (+1) or taken back (-1)."""
    if change:
        add_campaign_counts(session, {campaign_id: Counter({kind: change})})


def count_reclassified_clicks(session: Session, clicks: Sequence[CountedEvent]) -> None:
    """Clicks first counted as a person's turned out to be a scanner's burst: move them."""
    back = [
        CountedEvent(c.campaign_id, EventType.CLICKED, False, c.occurred_at, c.url) for c in clicks
    ]
    _subtract(session, back)
    count_events(
        session,
        [
            CountedEvent(c.campaign_id, EventType.CLICKED, True, c.occurred_at, c.url)
            for c in clicks
        ],
    )


def _subtract(session: Session, events: Sequence[CountedEvent]) -> None:
    totals: dict[int, Counter[str]] = {}
    hours: Counter[tuple[int, datetime, str]] = Counter()
    links: Counter[tuple[int, str, str]] = Counter()
    for event in events:
        totals.setdefault(event.campaign_id, Counter())["clicks"] -= 1
        hours[(event.campaign_id, hour_of(event.occurred_at), "clicked")] -= 1
        if event.url:
            links[(event.campaign_id, url_key(event.url), event.url)] -= 1
    add_campaign_counts(session, totals)
    rows = [{"campaign_id": c, "hour": h, "kind": k, "count": n} for (c, h, k), n in hours.items()]
    add_counts(session, CampaignHour, rows, keys=["campaign_id", "hour", "kind"])
    link_rows = [
        {"campaign_id": c, "url_hash": key, "url": url, "clicks": n, "machine_clicks": 0}
        for (c, key, url), n in links.items()
    ]
    add_counts(session, CampaignLink, link_rows, keys=["campaign_id", "url_hash"], replace=["url"])
