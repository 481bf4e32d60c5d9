"""Following the activity log by id, exactly once, with a cursor stored in the database.

A follower reads the rows after its cursor, applies them, and moves the cursor in the same
unit of work: a crash before the commit applies nothing and moves nothing, so every row is
applied once. The cursor row is locked for the unit of work (two schedulers never apply the
same rows).

Ids are taken at insert but seen at commit, so a missing id just past the cursor may be a
transaction still running (an import). The follower stops there and waits, up to
:data:`GAP_PATIENCE`; a gap still there by then was a rolled-back insert and is stepped over.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.activity import ActivityEvent
from core.database import insert_ignoring_conflicts, utcnow
from publisher.stats.models import StatsCursor

GAP_PATIENCE = timedelta(minutes=2)
BATCH = 5000


def claim_cursor(session: Session, name: str) -> StatsCursor:
    """The named cursor, created at 0 if new, locked until the unit of work ends."""
    insert = insert_ignoring_conflicts(session, StatsCursor, index_elements=["name"])
    session.execute(insert.values(name=name, position=0, updated_at=utcnow()))
    return session.scalars(
        select(StatsCursor).where(StatsCursor.name == name).with_for_update()
    ).one()


def next_activity(
    session: Session, cursor: StatsCursor, *, limit: int = BATCH, now: datetime | None = None
) -> list[ActivityEvent]:
    """The activity rows after the cursor that can be applied now (see the module on gaps)."""
    rows = list(
        session.scalars(
            select(ActivityEvent)
            .where(ActivityEvent.id > cursor.position)
            .order_by(ActivityEvent.id)
            .limit(limit)
        )
    )
    return _up_to_a_fresh_gap(cursor, rows, now or utcnow())


def _up_to_a_fresh_gap(
    cursor: StatsCursor, rows: Sequence[ActivityEvent], now: datetime
) -> list[ActivityEvent]:
    """``rows`` up to the first missing id, unless the one right after the cursor has been
    missing for longer than :data:`GAP_PATIENCE` (``gap_seen_at`` times that one)."""
    if not rows:
        return []
    if rows[0].id != cursor.position + 1:
        cursor.gap_seen_at = cursor.gap_seen_at or now
        if now - cursor.gap_seen_at < GAP_PATIENCE:
            return []
    cursor.gap_seen_at = None
    for index in range(1, len(rows)):
        if rows[index].id != rows[index - 1].id + 1:
            cursor.gap_seen_at = now
            return list(rows[:index])
    return list(rows)


def advance(cursor: StatsCursor, rows: Sequence[ActivityEvent]) -> None:
    """Move the cursor past ``rows`` (in the caller's unit of work)."""
    if rows:
        cursor.position = rows[-1].id
        cursor.updated_at = utcnow()


def applied_by_all(session: Session, names: Sequence[str]) -> int:
    """The highest activity id every named follower has applied (0 if one never ran)."""
    rows = session.execute(
        select(StatsCursor.name, StatsCursor.position).where(StatsCursor.name.in_(names))
    )
    positions = {str(name): int(position) for name, position in rows}
    return min((positions.get(name, 0) for name in names), default=0)
