"""How long rejected-row reports are kept: the rows of imports finished long ago, in batches.

The job itself stays, with its counts (how many rows were rejected); only the rows of its
report go. A job still queued or running is never touched.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.retention import BATCH, delete_batch
from subscribers.imports import ImportJob, ImportRejection


def prune_rejections(session: Session, *, before: datetime, limit: int = BATCH) -> int:
    """Delete up to ``limit`` rejected rows of imports finished before ``before``; how many."""
    # Few jobs, each with an index on its rows: no time index is needed to find them.
    old_jobs = select(ImportJob.id).where(ImportJob.finished_at < before)
    return delete_batch(
        session, ImportRejection, where=ImportRejection.job_id.in_(old_jobs), limit=limit
    )
