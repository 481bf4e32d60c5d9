"""The set-based writes of an import chunk: who is there already, and multi-row upserts.

Every statement here handles a whole chunk of rows (thousands) at once, on SQLite and
PostgreSQL alike (``INSERT … ON CONFLICT``, ``RETURNING``). On PostgreSQL the chunk's rows go
through temporary tables filled by COPY (:mod:`subscribers.import_staging`) and lists of ids
are bound as one array literal: binding thousands of values one by one was the slow part.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Integer, String, Text, any_, bindparam, cast, select, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from core.database import utcnow
from subscribers import import_staging
from subscribers.import_rows import Row
from subscribers.models import MailingList, Subscriber, Subscription, SubscriptionStatus
from subscribers.suppression import suppressed_addresses


@dataclass
class Known:
    """A subscriber already in the database, and their subscription to the list (if any)."""

    id: int
    subscription: str | None
    status: str
    name: str
    language: str
    timezone: str
    attributes: dict[str, Any]


@dataclass
class Plan:
    """What a chunk changes: the subscribers to write, subscriptions to add or confirm."""

    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    new_subscriptions: list[str] = field(default_factory=list)
    to_confirm: list[str] = field(default_factory=list)
    already: int = 0
    new_people: int = 0

    def counts(self) -> dict[str, int]:
        """This chunk's contribution to the job's counts."""
        updated = len(self.rows) - self.new_people
        return {
            "added": len(self.new_subscriptions),
            "now_confirmed": len(self.to_confirm),
            "already": self.already,
            "updated": updated,
            "new_subscribers": self.new_people,
        }


def screen(
    session: Session, list_id: int, emails: Sequence[str]
) -> tuple[set[str], dict[str, Known]]:
    """Those of ``emails`` that are suppressed, and those of the others already subscribers."""
    if not emails:
        return set(), {}
    if _postgresql(session):
        suppressed, found = import_staging.lookup(session, list_id, emails)
        known = {email: Known(*values) for email, *values in found if email not in suppressed}
        return suppressed, known
    suppressed = suppressed_addresses(session, emails)
    return suppressed, existing(session, list_id, [e for e in emails if e not in suppressed])


def existing(session: Session, list_id: int, emails: Sequence[str]) -> dict[str, Known]:
    """Those of ``emails`` that are subscribers already, with their list subscription status."""
    if not emails:
        return {}
    query = (
        select(
            Subscriber.email,
            Subscriber.id,
            Subscription.status,
            Subscriber.status,
            Subscriber.name,
            Subscriber.language,
            Subscriber.timezone,
            Subscriber.attributes,
        )
        .outerjoin(
            Subscription,
            (Subscription.subscriber_id == Subscriber.id) & (Subscription.list_id == list_id),
        )
        .where(one_of(session, Subscriber.email, emails))
    )
    return {email: Known(*values) for email, *values in session.execute(query)}


def plan(rows: dict[str, Row], known: dict[str, Known], *, vouched: bool) -> Plan:
    """Decide, for each good row, what to write (nothing is written here)."""
    result = Plan()
    for email, row in rows.items():
        person = known.get(email)
        values = _values(row, person)
        if person is None:
            result.new_people += 1
            result.rows[email] = values
        elif _changes(values, person):
            result.rows[email] = values
        if person is None or person.subscription is None:
            result.new_subscriptions.append(email)
        elif person.subscription == SubscriptionStatus.UNCONFIRMED and vouched:
            result.to_confirm.append(email)
        else:
            result.already += 1
    return result


def _values(row: Row, person: Known | None) -> dict[str, Any]:
    if person is None:
        return {
            "email": row.email,
            "name": row.name,
            "language": row.language or "",
            "timezone": row.timezone or "UTC",
            "attributes": row.attributes,
        }
    return {
        "email": row.email,
        "name": row.name or person.name,
        "language": row.language or person.language,
        "timezone": row.timezone or person.timezone,
        "attributes": (person.attributes or {}) | row.attributes,
    }


def _changes(values: dict[str, Any], person: Known) -> bool:
    return (values["name"], values["language"], values["timezone"], values["attributes"]) != (
        person.name,
        person.language,
        person.timezone,
        person.attributes or {},
    )


def upsert_subscribers(
    session: Session,
    list_id: int,
    rows: list[dict[str, Any]],
    emails: Sequence[str],
    known: dict[str, Known] | None = None,
) -> dict[str, int]:
    """Insert or update ``rows`` in one statement; the ids of every address in ``emails``
    (those of ``known`` people not written are taken from there rather than looked up)."""
    language = session.scalar(select(MailingList.language).where(MailingList.id == list_id))
    ids: dict[str, int] = {}
    if rows and _postgresql(session):
        ids.update(import_staging.upsert(session, rows, language=language or "en"))
    elif rows:
        rows = [row | {"language": row["language"] or language or "en"} for row in rows]
        insert = sqlite.insert(Subscriber)
        statement = insert.on_conflict_do_update(
            index_elements=["email"],
            set_={name: insert.excluded[name] for name in UPSERTED},
        ).returning(Subscriber.email, Subscriber.id)
        ids.update((email, id_) for email, id_ in session.execute(statement, rows))
    for email, person in (known or {}).items():
        ids.setdefault(email, person.id)
    missing = [email for email in emails if email not in ids]
    if missing:
        query = select(Subscriber.email, Subscriber.id).where(
            one_of(session, Subscriber.email, missing)
        )
        ids.update((email, id_) for email, id_ in session.execute(query))
    return ids


UPSERTED = ("name", "language", "timezone", "attributes")


def add_subscriptions(
    session: Session, list_id: int, subscriber_ids: list[int], *, confirmed: bool, source: str
) -> list[int]:
    """Subscribe these people to the list (skipping any who are on it); the ids added."""
    if not subscriber_ids:
        return []
    now = utcnow()
    values = {
        "list_id": list_id,
        "status": SubscriptionStatus.CONFIRMED if confirmed else SubscriptionStatus.UNCONFIRMED,
        "consent_at": now if confirmed else None,
        "consent_source": source,
        "created_at": now,
    }
    if _postgresql(session):
        ids = import_staging.integers(subscriber_ids)
        return [
            id_ for (id_,) in import_staging.fetch(session, PG_SUBSCRIBE, values | {"ids": ids})
        ]
    statement = (
        sqlite.insert(Subscription)
        .on_conflict_do_nothing(index_elements=["subscriber_id", "list_id"])
        .returning(Subscription.subscriber_id)
    )
    rows = [values | {"subscriber_id": person} for person in subscriber_ids]
    return list(session.execute(statement, rows).scalars())


PG_SUBSCRIBE = (
    "INSERT INTO subscriptions (subscriber_id, list_id, status, consent_at, consent_source,"
    " consent_ip, unsubscribed_via, created_at)"
    " SELECT s, %(list_id)s, %(status)s, %(consent_at)s, %(consent_source)s, '', '',"
    " %(created_at)s FROM unnest(CAST(%(ids)s AS integer[])) AS s"
    " ON CONFLICT (subscriber_id, list_id) DO NOTHING RETURNING subscriber_id"
)


def confirm(session: Session, list_id: int, subscriber_ids: list[int], *, source: str) -> list[int]:
    """Confirm these people's unconfirmed subscriptions (the importer vouches); the ids done."""
    if not subscriber_ids:
        return []
    statement = (
        update(Subscription)
        .where(
            Subscription.list_id == list_id,
            one_of(session, Subscription.subscriber_id, subscriber_ids),
            Subscription.status == SubscriptionStatus.UNCONFIRMED,
        )
        .values(status=SubscriptionStatus.CONFIRMED, consent_at=utcnow(), consent_source=source)
        .returning(Subscription.subscriber_id)
        .execution_options(synchronize_session=False)
    )
    return list(session.execute(statement).scalars())


def one_of(session: Session, column: Any, values: Sequence[Any]) -> Any:
    """``column IN values``; on PostgreSQL ``= ANY(array)``: one parameter, however many."""
    if not _postgresql(session):
        return column.in_(values)
    if isinstance(values[0], int):
        # One array literal to bind: dumping thousands of ints one by one costs more.
        literal = bindparam(None, import_staging.integers(values), type_=Text())
        return column == any_(cast(literal, ARRAY(Integer())))
    return column == any_(bindparam(None, list(values), type_=ARRAY(String())))


def _postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"
