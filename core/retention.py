"""Pruning old rows in bounded batches: the shared statement every retention rule uses.

A retention rule deletes at most ``limit`` rows per statement, the oldest first, through an
index on their time, so one statement holds its row locks for a moment only and PostgreSQL
never scans the whole table to find the next batch. The caller commits each batch in its own
unit of work (the worker's housekeeping does), and calls again until a batch comes back short.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import Session

from core.database import utcnow

BATCH = 5000
"""Rows per delete statement: large enough to keep up, small enough to hold locks briefly."""


def cutoff(days: int, *, now: datetime | None = None) -> datetime | None:
    """The moment before which rows kept ``days`` days are due; None when kept forever (0)."""
    if days <= 0:
        return None
    return (now or utcnow()) - timedelta(days=days)


def delete_batch(
    session: Session,
    model: Any,
    *,
    where: ColumnElement[bool],
    oldest_first: Any = None,
    limit: int = BATCH,
) -> int:
    """Delete at most ``limit`` rows of ``model`` matching ``where`` (ordered by
    ``oldest_first`` so an index on it finds them); how many were deleted."""
    chosen = select(model.id).where(where).limit(limit)
    if oldest_first is not None:
        chosen = chosen.order_by(oldest_first)
    result = session.execute(
        delete(model).where(model.id.in_(chosen)).execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
