"""Importing subscribers from CSV: streamed in chunks, upserted in bulk, with a report.

Per chunk of rows: one suppression check, one look-up of who is already there, one
multi-row upsert of subscribers, one multi-row insert of subscriptions and of activity, and
the rejected rows saved for the report. Someone who unsubscribed from the list is never
resubscribed (the row is reported instead). On a single opt-in list, or with ``confirmed``,
the importer vouches for consent collected elsewhere and the subscription is confirmed
(consent source ``import:<file name>``); on a double opt-in list people are asked to confirm.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.activity import ActivityKind, record_activities
from core.database import Base, UTCDateTime, utcnow
from core.settings import get_settings
from subscribers import import_rows, import_writes
from subscribers.consent import ask_for_confirmation
from subscribers.import_rows import Rejection, Row, UnreadableFile
from subscribers.models import MailingList, OptIn, SubscriberStatus, SubscriptionStatus

CHUNK = 20_000
COUNTS = (
    "rows",
    "added",
    "now_confirmed",
    "already",
    "updated",
    "new_subscribers",
    "duplicates",
    "unsubscribed",
    "rejected",
)
"""rows read; subscriptions added; unconfirmed ones now confirmed; already on the list; existing
subscribers whose details were updated; new people; repeated addresses within a chunk;
unsubscribed people left alone; rows rejected (the report)."""

Progress = Callable[["ImportJob"], None]


class ImportStatus(StrEnum):
    """Where an import job is (``import_jobs.status``); done and failed are final."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ImportJob(Base):
    """One import of a CSV file into a list: its options, progress and outcome."""

    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"), index=True)
    file_name: Mapped[str] = mapped_column(String(300))
    path: Mapped[str] = mapped_column(String(1000), default="")
    """Where the uploaded file waits for the worker (removed once imported)."""
    status: Mapped[str] = mapped_column(String(16), default=ImportStatus.QUEUED)
    dry_run: Mapped[bool] = mapped_column(default=False)
    confirmed: Mapped[bool] = mapped_column(default=False)
    encoding: Mapped[str] = mapped_column(String(32), default="utf-8")
    actor: Mapped[str] = mapped_column(String(320), default="cli")
    lines_total: Mapped[int] = mapped_column(default=0)
    line_done: Mapped[int] = mapped_column(default=0)
    counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    attribute_columns: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Columns that are not email/name/language/timezone, kept as free attributes."""
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def finished(self) -> bool:
        """Done or failed: nothing more will happen."""
        return self.status in (ImportStatus.DONE, ImportStatus.FAILED)


class ImportRejection(Base):
    """A row an import did not take, with its line and why (the rejected-rows report)."""

    __tablename__ = "import_rejections"
    __table_args__ = (Index("ix_import_rejections_job_line", "job_id", "line"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("import_jobs.id", ondelete="CASCADE"))
    line: Mapped[int] = mapped_column()
    email: Mapped[str] = mapped_column(String(320), default="")
    reason: Mapped[str] = mapped_column(String(500))


class ImportRefused(ValueError):
    """An import that cannot start (unknown list); the message says why."""


def create_import(
    session: Session,
    *,
    list_slug: str,
    file_name: str,
    path: Path,
    confirmed: bool = False,
    dry_run: bool = False,
    encoding: str = "utf-8",
    actor: str = "cli",
) -> ImportJob:
    """Record an import of ``path`` into the list, to be run by :func:`run_import`."""
    mailing_list = session.scalar(select(MailingList).where(MailingList.slug == list_slug))
    if mailing_list is None:
        raise ImportRefused(f"no list with slug {list_slug!r}")
    job = ImportJob(
        list_id=mailing_list.id,
        file_name=Path(file_name).name[:300],
        path=str(path),
        confirmed=confirmed,
        dry_run=dry_run,
        encoding=encoding,
        actor=actor,
        counts=dict.fromkeys(COUNTS, 0),
    )
    session.add(job)
    session.flush()
    return job


def run_import(session: Session, job_id: int, *, progress: Progress | None = None) -> ImportJob:
    """Import the job's file chunk by chunk, COMMITTING after each chunk.

    The one exception to "services never commit": a million rows must neither sit in one
    transaction nor be lost by one bad row. Each commit holds a chunk's rows together with
    its rejections and the job's progress, so a failure leaves a job that says how far it got.
    """
    job = session.get(ImportJob, job_id)
    if job is None or job.finished:
        raise ImportRefused(f"no import #{job_id} waiting to run")
    job.status = ImportStatus.RUNNING
    try:
        encoding, job.lines_total = import_rows.check_file(Path(job.path), job.encoding)
        header, rows = import_rows.read_rows(Path(job.path), encoding)
    except (UnreadableFile, OSError) as error:
        return _finish(session, job, error=str(error))
    job.attribute_columns = list(header.attributes)
    session.commit()
    # A task re-delivered after a crash resumes after the last committed chunk.
    done = job.line_done
    try:
        for chunk in _chunks(row for row in rows if row.line > done):
            _import_chunk(session, job, chunk)
            session.commit()
            if progress:
                progress(job)
    except Exception as error:
        session.rollback()
        job = session.get_one(ImportJob, job_id)
        _finish(session, job, error=f"stopped after line {job.line_done}: {error}")
        raise
    return _finish(session, job)


def upload_dir() -> Path:
    """The folder of uploaded files waiting for a worker, in the data directory."""
    return get_settings().data_dir / "imports"


def save_upload(chunks: Iterator[bytes]) -> Path:
    """Store an uploaded file where workers read it (``<data_dir>/imports``, shared with them)."""
    folder = upload_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.csv"
    with path.open("wb") as file:
        for chunk in chunks:
            file.write(chunk)
    return path


def discard_upload(job: ImportJob) -> None:
    """Remove the job's uploaded file once it is imported (the report stays in the database)."""
    path = Path(job.path)
    if job.finished and path.parent.resolve() == upload_dir().resolve():
        path.unlink(missing_ok=True)


def _finish(session: Session, job: ImportJob, *, error: str = "") -> ImportJob:
    job.status = ImportStatus.FAILED if error else ImportStatus.DONE
    job.error = error
    job.finished_at = utcnow()
    session.commit()
    return job


def _chunks(rows: Iterator[Row | Rejection]) -> Iterator[list[Row | Rejection]]:
    while chunk := list(islice(rows, CHUNK)):
        yield chunk


@dataclass
class _Chunk:
    rows: dict[str, Row]
    rejections: list[Rejection]
    duplicates: int


def _sort(items: list[Row | Rejection]) -> _Chunk:
    rows: dict[str, Row] = {}
    rejections, duplicates = [], 0
    for item in items:
        if isinstance(item, Rejection):
            rejections.append(item)
            continue
        if item.email in rows:
            duplicates += 1
            item = _merged(rows.pop(item.email), item)
        rows[item.email] = item
    return _Chunk(rows, rejections, duplicates)


def _merged(first: Row, later: Row) -> Row:
    """A repeated address: later non-empty values win, attributes are combined."""
    return Row(
        line=later.line,
        email=later.email,
        name=later.name or first.name,
        language=later.language or first.language,
        timezone=later.timezone or first.timezone,
        attributes=first.attributes | later.attributes,
    )


def _import_chunk(session: Session, job: ImportJob, items: list[Row | Rejection]) -> None:
    chunk = _sort(items)
    counts = dict(job.counts)
    counts["rows"] += len(items)
    counts["duplicates"] += chunk.duplicates
    suppressed, known = import_writes.screen(session, job.list_id, list(chunk.rows))
    for email in [email for email in chunk.rows if email in suppressed]:
        row = chunk.rows.pop(email)
        # The report names the line only: an erased address must not come back in plain text.
        chunk.rejections.append(Rejection(row.line, "", "suppressed: this address is never mailed"))
    for email, person in list(known.items()):
        reason = _left_alone(person.subscription, person.status)
        if reason:
            row = chunk.rows.pop(email)
            del known[email]
            counts["unsubscribed"] += person.subscription == SubscriptionStatus.UNSUBSCRIBED
            chunk.rejections.append(Rejection(row.line, email, reason))
    vouched = job.confirmed or _opt_in(session, job.list_id) == OptIn.SINGLE
    plan = import_writes.plan(chunk.rows, known, vouched=vouched)
    for name, value in plan.counts().items():
        counts[name] += value
    counts["rejected"] += len(chunk.rejections)
    if not job.dry_run:
        _apply(session, job, plan, known, vouched=vouched)
    _save_rejections(session, job.id, chunk.rejections)
    job.counts = counts
    job.line_done = max((item.line for item in items), default=job.line_done)


def _left_alone(status: str | None, person_status: str) -> str:
    if status == SubscriptionStatus.UNSUBSCRIBED:
        return "unsubscribed from this list: not resubscribed"
    if person_status != SubscriberStatus.ACTIVE:
        return f"subscriber is {person_status}"
    return ""


def _opt_in(session: Session, list_id: int) -> str:
    return str(session.scalar(select(MailingList.opt_in).where(MailingList.id == list_id)))


def _apply(
    session: Session,
    job: ImportJob,
    plan: import_writes.Plan,
    known: dict[str, import_writes.Known],
    *,
    vouched: bool,
) -> None:
    source = f"import:{job.file_name}"[:200]
    ids = import_writes.upsert_subscribers(
        session,
        job.list_id,
        list(plan.rows.values()),
        plan.new_subscriptions + plan.to_confirm,
        known,
    )
    added = import_writes.add_subscriptions(
        session,
        job.list_id,
        [ids[email] for email in plan.new_subscriptions],
        confirmed=vouched,
        source=source,
    )
    confirmed = import_writes.confirm(
        session, job.list_id, [ids[email] for email in plan.to_confirm], source=source
    )
    data = {"source": source}
    record_activities(
        session,
        ActivityKind.SUBSCRIBER_SUBSCRIBED,
        subscriber_ids=added,
        list_id=job.list_id,
        data=data,
    )
    if vouched:
        record_activities(
            session,
            ActivityKind.SUBSCRIBER_CONFIRMED,
            subscriber_ids=added + confirmed,
            list_id=job.list_id,
            data=data,
        )
    if added and not vouched:
        ask_for_confirmation(session, list_id=job.list_id, subscriber_ids=added)


def _save_rejections(session: Session, job_id: int, rejections: list[Rejection]) -> None:
    if rejections:
        session.execute(
            insert(ImportRejection),
            [
                {"job_id": job_id, "line": r.line, "email": r.email[:320], "reason": r.reason[:500]}
                for r in rejections
            ],
        )


def rejections(session: Session, job_id: int, *, batch: int = 5_000) -> Iterator[ImportRejection]:
    """The job's rejected rows in line order, read in batches (the report can be long)."""
    after = 0
    while True:
        page = list(
            session.scalars(
                select(ImportRejection)
                .where(ImportRejection.job_id == job_id, ImportRejection.id > after)
                .order_by(ImportRejection.id)
                .limit(batch)
            )
        )
        yield from page
        if len(page) < batch:
            return
        after = page[-1].id


def recent_imports(session: Session, list_id: int, *, limit: int = 10) -> list[ImportJob]:
    """The list's latest imports, newest first."""
    return list(
        session.scalars(
            select(ImportJob)
            .where(ImportJob.list_id == list_id)
            .order_by(ImportJob.id.desc())
            .limit(limit)
        )
    )


def summary(job: ImportJob) -> dict[str, Any]:
    """The job as plain data (the CLI's --json, the progress page's figures)."""
    return {
        "id": job.id,
        "list_id": job.list_id,
        "file": job.file_name,
        "status": job.status,
        "dry_run": job.dry_run,
        "confirmed": job.confirmed,
        "line": job.line_done,
        "lines": job.lines_total,
        **{name: job.counts.get(name, 0) for name in COUNTS},
        "attribute_columns": job.attribute_columns,
        "error": job.error,
    }
