"""The audit log: who did what to which object, for every domain (one table, append-only).

It lives in core because every domain writes to it: an editor approving a post, an admin
lifting a suppression. The actor is stored as a label (an email, "cli", "system") so the
log outlives the user accounts it names.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.database import Base, UTCDateTime, utcnow


class AuditEntry(Base):
    """One action: when, by whom, what, on which object, with details."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_object", "object_type", "object_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(320))
    """Who: a user's email, "cli" for the command line, "system" for the scheduler."""
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32), default="")
    object_id: Mapped[str] = mapped_column(String(64), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


def record_audit(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str = "",
    object_id: object = "",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add one entry to the log (in the caller's unit of work)."""
    entry = AuditEntry(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        details=details or {},
    )
    session.add(entry)
    return entry


def audit_trail(
    session: Session, *, object_type: str | None = None, object_id: object = None, limit: int = 100
) -> list[AuditEntry]:
    """The newest entries first, optionally only those about one object."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if object_type is not None:
        query = query.where(AuditEntry.object_type == object_type)
    if object_id is not None:
        query = query.where(AuditEntry.object_id == str(object_id))
    return list(session.scalars(query))
