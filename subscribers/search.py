"""Finding subscribers by a piece of their address, each with the lists they are on."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from subscribers.models import MailingList, Subscriber, Subscription

SEARCH_LIMIT = 50


@dataclass(frozen=True, slots=True)
class FoundSubscriber:
    """A subscriber found by a search, with (list name, subscription status) by list name."""

    person: Subscriber
    lists: list[tuple[str, str]] = field(default_factory=list)


def search_subscribers(
    session: Session, text: str, *, limit: int = SEARCH_LIMIT
) -> list[FoundSubscriber]:
    """Subscribers whose address contains ``text`` (any case), by address, at most ``limit``."""
    wanted = text.strip().lower()
    if not wanted:
        return []
    people = session.scalars(
        select(Subscriber)
        .where(Subscriber.email.contains(wanted, autoescape=True))
        .order_by(Subscriber.email)
        .limit(limit)
    ).all()
    lists: dict[int, list[tuple[str, str]]] = {person.id: [] for person in people}
    rows = session.execute(
        select(Subscription.subscriber_id, MailingList.name, Subscription.status)
        .join(MailingList, MailingList.id == Subscription.list_id)
        .where(Subscription.subscriber_id.in_(list(lists)))
        .order_by(MailingList.name)
    )
    for subscriber_id, list_name, state in rows:
        lists[subscriber_id].append((list_name, state))
    return [FoundSubscriber(person, lists[person.id]) for person in people]
