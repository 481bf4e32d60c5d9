"""What Herald holds on one address, for the person to see (export) or to forget (erase).

Erasure deletes the subscriber; the database cascades to their subscriptions and to every
delivery and delivery event of theirs; rejected rows of import reports naming the address
go too. What remains is one suppression entry holding the address's hash (so it is never
mailed or signed up again without an admin lifting it) and the activity log's rows, which
name the deleted subscriber by id only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from core.activity import ActivityEvent, ActivityKind, record_activity
from core.audit import record_audit
from core.database import utcnow
from subscribers.imports import ImportRejection
from subscribers.models import MailingList, Subscriber, Subscription
from subscribers.suppression import address_hash, keep_hash_only, suppression_entries

RECENT_ACTIVITY = 50


@dataclass(frozen=True, slots=True)
class Erasure:
    """What an erasure removed: whether a subscriber existed, and their id."""

    email_hash: str
    subscriber_id: int | None


def find_subscriber(session: Session, email: str) -> Subscriber | None:
    """The subscriber with this normalised address, if any."""
    return session.scalars(select(Subscriber).where(Subscriber.email == email)).first()


def subscriber_data(
    session: Session, email: str, *, activity_limit: int | None = None
) -> dict[str, Any]:
    """Everything the subscribers domain holds on the normalised address ``email`` (JSON-ready)."""
    person = find_subscriber(session, email)
    return {
        "email": email,
        "exported_at": iso_time(utcnow()),
        "subscriber": _person(person) if person else None,
        "subscriptions": _subscriptions(session, person.id) if person else [],
        "suppression": [
            {
                "reason": entry.reason,
                "since": iso_time(entry.created_at),
                "hashed": entry.email is None,
            }
            for entry in suppression_entries(session, email)
        ],
        "activity": _activity(session, person.id, activity_limit) if person else [],
        "import_rejections": [
            {"job_id": r.job_id, "line": r.line, "reason": r.reason}
            for r in session.scalars(select(ImportRejection).where(_rejected(email)))
        ],
    }


def _person(person: Subscriber) -> dict[str, Any]:
    return {
        "id": person.id,
        "email": person.email,
        "name": person.name,
        "language": person.language,
        "timezone": person.timezone,
        "attributes": person.attributes,
        "status": person.status,
        "created_at": iso_time(person.created_at),
    }


def _subscriptions(session: Session, subscriber_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Subscription, MailingList.slug, MailingList.name)
        .join(MailingList, MailingList.id == Subscription.list_id)
        .where(Subscription.subscriber_id == subscriber_id)
        .order_by(MailingList.slug)
    )
    return [
        {
            "list": slug,
            "list_name": name,
            "status": s.status,
            "topics": s.topics,
            "requested_at": iso_time(s.requested_at),
            "requested_ip": s.requested_ip,
            "consent": {
                "at": iso_time(s.consent_at),
                "source": s.consent_source,
                "ip": s.consent_ip,
                "page": s.consent_page,
            },
            "confirmation_sent_at": iso_time(s.confirmation_sent_at),
            "unsubscribed_at": iso_time(s.unsubscribed_at),
            "unsubscribed_via": s.unsubscribed_via,
            "created_at": iso_time(s.created_at),
        }
        for s, slug, name in rows
    ]


def _activity(session: Session, subscriber_id: int, limit: int | None) -> list[dict[str, Any]]:
    query = (
        select(ActivityEvent, MailingList.slug)
        .outerjoin(MailingList, MailingList.id == ActivityEvent.list_id)
        .where(ActivityEvent.subscriber_id == subscriber_id)
        .order_by(ActivityEvent.id.desc())
        .limit(limit)
    )
    return [
        {
            "at": iso_time(event.at),
            "kind": event.kind,
            "list": slug,
            "campaign_id": event.campaign_id,
            "data": event.data,
        }
        for event, slug in session.execute(query)
    ]


def erase_subscriber(session: Session, email: str, *, actor: str) -> Erasure:
    """Forget the normalised address ``email``: delete the subscriber (cascading to what
    names them) and keep only its hash, suppressed. Audited; doing it twice is harmless."""
    person = find_subscriber(session, email)
    subscriber_id = person.id if person else None
    if person is not None:
        session.execute(delete(Subscriber).where(Subscriber.id == person.id))
        session.expunge(person)
        record_activity(session, ActivityKind.SUBSCRIBER_ERASED, subscriber_id=subscriber_id)
    session.execute(delete(ImportRejection).where(_rejected(email)))
    keep_hash_only(session, email)
    digest = address_hash(email)
    record_audit(
        session,
        actor=actor,
        action="subscriber.erase",
        object_type="subscriber",
        object_id=subscriber_id or "",
        details={"email_hash": digest},
    )
    return Erasure(digest, subscriber_id)


def _rejected(email: str) -> ColumnElement[bool]:
    # Rejected rows keep the address as the file had it.
    return func.lower(func.trim(ImportRejection.email)) == email


def iso_time(moment: datetime | None) -> str | None:
    """A time as ISO 8601 for JSON (None stays None)."""
    return moment.isoformat() if moment else None
