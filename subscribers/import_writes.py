"""The set-based writes of an import chunk: who is there already, and multi-row upserts.

Every statement here handles a whole chunk of rows (thousands) at once, on SQLite and
PostgreSQL alike (``INSERT … ON CONFLICT``, ``RETURNING``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Integer, String, any_, bindparam, select, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from core.database import utcnow
from subscribers.import_rows import Row
from subscribers.models import MailingList, Subscriber, Subscription


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
            "added": len(self.new_subscriptions), "now_confirmed": len(self.to_confirm),
            "already": self.already, "updated": updated, "new_subscribers": self.new_people,
        }  # fmt: skip


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
        elif person.subscription == "unconfirmed" and vouched:
            result.to_confirm.append(email)
        else:
            result.already += 1
    return result


def _values(row: Row, person: Known | None) -> dict[str, Any]:
    if person is None:
        return {
            "email": row.email, "name": row.name, "language": row.language or "",
            "timezone": row.timezone or "UTC", "attributes": row.attributes,
        }  # fmt: skip
    return {
        "email": row.email, "name": row.name or person.name,
        "language": row.language or person.language, "timezone": row.timezone or person.timezone,
        "attributes": (person.attributes or {}) | row.attributes,
    }  # fmt: skip


def _changes(values: dict[str, Any], person: Known) -> bool:
    return (values["name"], values["language"], values["timezone"], values["attributes"]) != (
        person.name, person.language, person.timezone, person.attributes or {},
    )  # fmt: skip


def upsert_subscribers(
    session: Session, list_id: int, rows: list[dict[str, Any]], emails: Sequence[str]
) -> dict[str, int]:
    """Insert or update ``rows`` in one statement; the ids of every address in ``emails``."""
    language = session.scalar(select(MailingList.language).where(MailingList.id == list_id))
    rows = [row | {"language": row["language"] or language or "en"} for row in rows]
    ids: dict[str, int] = {}
    if rows and _postgresql(session):
        ids.update(_upsert_on_postgresql(session, rows))
    elif rows:
        insert = sqlite.insert(Subscriber)
        statement = insert.on_conflict_do_update(
            index_elements=["email"],
            set_={name: insert.excluded[name] for name in UPSERTED},
        ).returning(Subscriber.email, Subscriber.id)
        ids.update((email, id_) for email, id_ in session.execute(statement, rows))
    missing = [email for email in emails if email not in ids]
    if missing:
        query = select(Subscriber.email, Subscriber.id).where(
            one_of(session, Subscriber.email, missing)
        )
        ids.update((email, id_) for email, id_ in session.execute(query))
    return ids


UPSERTED = ("name", "language", "timezone", "attributes")
PG_UPSERT = text(
    "INSERT INTO subscribers (email, name, language, timezone, attributes, status, created_at)"
    " SELECT e, n, l, t, CAST(a AS json), 'active', :now FROM unnest("
    "CAST(:emails AS text[]), CAST(:names AS text[]), CAST(:languages AS text[]),"
    " CAST(:timezones AS text[]), CAST(:attributes AS text[])) AS u(e, n, l, t, a)"
    " ON CONFLICT (email) DO UPDATE SET name = excluded.name, language = excluded.language,"
    " timezone = excluded.timezone, attributes = excluded.attributes"
    " RETURNING email, id"
)


def _upsert_on_postgresql(session: Session, rows: list[dict[str, Any]]) -> list[tuple[str, int]]:
    # One statement with five array parameters: no per-row placeholders to bind or parse.
    columns = {
        "emails": [row["email"] for row in rows],
        "names": [row["name"] for row in rows],
        "languages": [row["language"] for row in rows],
        "timezones": [row["timezone"] for row in rows],
        "attributes": [json.dumps(row["attributes"], ensure_ascii=False) for row in rows],
    }
    result = session.execute(PG_UPSERT, columns | {"now": utcnow()})
    return [(email, id_) for email, id_ in result]


def add_subscriptions(
    session: Session, list_id: int, subscriber_ids: list[int], *, confirmed: bool, source: str
) -> list[int]:
    """Subscribe these people to the list (skipping any who are on it); the ids added."""
    if not subscriber_ids:
        return []
    now = utcnow()
    values = {
        "list_id": list_id, "status": "confirmed" if confirmed else "unconfirmed",
        "consent_at": now if confirmed else None, "consent_source": source, "created_at": now,
    }  # fmt: skip
    if _postgresql(session):
        return list(session.execute(PG_SUBSCRIBE, values | {"ids": subscriber_ids}).scalars())
    statement = (
        sqlite.insert(Subscription)
        .on_conflict_do_nothing(index_elements=["subscriber_id", "list_id"])
        .returning(Subscription.subscriber_id)
    )
    rows = [values | {"subscriber_id": person} for person in subscriber_ids]
    return list(session.execute(statement, rows).scalars())


PG_SUBSCRIBE = text(
    "INSERT INTO subscriptions (subscriber_id, list_id, status, consent_at, consent_source,"
    " consent_ip, unsubscribed_via, created_at)"
    " SELECT s, :list_id, :status, :consent_at, :consent_source, '', '', :created_at"
    " FROM unnest(CAST(:ids AS integer[])) AS s"
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
            Subscription.status == "unconfirmed",
        )
        .values(status="confirmed", consent_at=utcnow(), consent_source=source)
        .returning(Subscription.subscriber_id)
        .execution_options(synchronize_session=False)
    )
    return list(session.execute(statement).scalars())


def one_of(session: Session, column: Any, values: Sequence[Any]) -> Any:
    """``column IN values``; on PostgreSQL ``= ANY(array)``: one parameter, however many."""
    if not _postgresql(session):
        return column.in_(values)
    element = Integer() if isinstance(values[0], int) else String()
    return column == any_(bindparam(None, list(values), type_=ARRAY(element)))


def _postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"
