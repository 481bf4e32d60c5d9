"""How long delivery events are kept: the old ones pruned in batches, figures untouched.

A campaign's figures (counts, hourly timeline, links) are added to its aggregates in the unit
of work that stores each event (:mod:`publisher.stats.aggregates`) and read from there only,
so deleting raw events never changes them. Two things still read old events, and the rule
keeps what they need:

- whether a bounced delivery bounced *hard* is read from its events whenever a later event
  moves its counts, so hard-bounce events are never pruned (few: one per dead address);
- the one-off ``herald stats ID --rebuild`` recounts from events, so it is refused for a
  campaign whose events may have been pruned (:func:`events_may_be_pruned`).

A provider that replays an event after the retention period would have it stored anew; their
replay windows are days, the default period more than a year.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, text
from sqlalchemy.orm import Session

from core.retention import BATCH, cutoff, delete_batch
from core.settings import get_settings
from publisher.tracking.models import PRUNABLE, DeliveryEvent


def prune_events(session: Session, *, before: datetime, limit: int = BATCH) -> int:
    """Delete up to ``limit`` events but hard bounces received before ``before``; how many."""
    # The condition as literal SQL, the partial index's own: with bound values, the generic
    # plan a prepared statement gets after a few runs could not use the index (tested).
    old = and_(text(f"({PRUNABLE})"), DeliveryEvent.received_at < before)
    return delete_batch(
        session, DeliveryEvent, where=old, oldest_first=DeliveryEvent.received_at, limit=limit
    )


def events_may_be_pruned(started_at: datetime | None, *, now: datetime | None = None) -> bool:
    """Whether a campaign started at ``started_at`` may have lost events to retention."""
    before = cutoff(get_settings().retention_events_days, now=now)
    return before is not None and started_at is not None and started_at < before
