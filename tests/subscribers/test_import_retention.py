"""Retention of rejected-row reports: the rows of imports finished before the period go, the
jobs and their counts stay, and rows of young or unfinished imports stay (SQLite and
PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.database import unit_of_work, utcnow
from subscribers.import_retention import prune_rejections
from subscribers.imports import ImportJob, ImportRejection, ImportStatus
from tests.fixtures.factories import add_list
from worker import scheduled


def _job(session: Session, name: str, status: str, finished_days_ago: float | None) -> int:
    finished = None if finished_days_ago is None else utcnow() - timedelta(days=finished_days_ago)
    job = ImportJob(
        list_id=1, file_name=name, status=status, finished_at=finished, counts={"rejected": 3}
    )
    session.add(job)
    session.flush()
    for line in (2, 3, 4):
        session.add(ImportRejection(job_id=job.id, line=line, reason="not an address"))
    return job.id


def test_old_reports_go_and_the_jobs_stay(db: str) -> None:
    with unit_of_work() as session:
        add_list(session, "news")
        old = _job(session, "old.csv", ImportStatus.DONE, 31)
        young = _job(session, "young.csv", ImportStatus.DONE, 29)
        running = _job(session, "running.csv", ImportStatus.RUNNING, None)
    with unit_of_work() as session:
        assert prune_rejections(session, before=utcnow() - timedelta(days=30), limit=2) == 2
    assert scheduled.prune_retained(now=utcnow())["import_rejections"] == 1
    with unit_of_work() as session:
        jobs = {job.id: job.counts for job in session.scalars(select(ImportJob))}
        rejected = set(session.scalars(select(ImportRejection.job_id)))
    assert set(jobs) == {old, young, running}
    assert jobs[old] == {"rejected": 3}
    assert rejected == {young, running}
