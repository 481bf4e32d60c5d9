"""The preference centre: a subscriber's lists, topics and language, changed without a login.

The signed link of any email (the unsubscribe token, so links in old emails keep working)
is the proof of the mailbox: whoever holds it may leave lists, join public lists and those
they were on before, choose topics and a language, or leave everything. Joining from here
counts as consent given through the preference centre; a suppressed address joins nothing.
A subscription still waiting for its confirmation stays waiting: only its link confirms it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.activity import ActivityKind, record_activity
from core.database import utcnow
from subscribers.consent import send_welcome
from subscribers.lists import LANGUAGES
from subscribers.models import MailingList, Subscriber, Subscription, SubscriptionStatus
from subscribers.subscribe import chosen_topics
from subscribers.suppression import is_suppressed
from subscribers.unsubscribe import leave_lists

SOURCE = "preferences"
ACTIVE = (SubscriptionStatus.CONFIRMED, SubscriptionStatus.UNCONFIRMED)


@dataclass(frozen=True, slots=True)
class ListChoice:
    """One list as the preference centre shows it to one subscriber."""

    id: int
    name: str
    description: str
    topics: list[str]
    status: str
    """The subscription's status, or "" for a public list they were never on."""
    chosen: list[str] = field(default_factory=list)
    """The topics they receive (all of the list's when they chose none)."""

    @property
    def subscribed(self) -> bool:
        """On the list (or waiting for confirmation)."""
        return self.status in ACTIVE


@dataclass(frozen=True, slots=True)
class Preferences:
    """What the preference centre shows."""

    subscriber_id: int
    email: str
    language: str
    suppressed: bool
    lists: list[ListChoice]


@dataclass(frozen=True, slots=True)
class Changes:
    """What a save did."""

    joined: list[int] = field(default_factory=list)
    left: list[int] = field(default_factory=list)
    language: bool = False


def preferences(session: Session, subscriber_id: int) -> Preferences:
    """The subscriber's lists (and the public lists they could join) with their status."""
    person = session.get(Subscriber, subscriber_id)
    if person is None:
        raise LookupError(f"no subscriber {subscriber_id}")
    rows = session.execute(
        select(MailingList, Subscription)
        .outerjoin(
            Subscription,
            (Subscription.list_id == MailingList.id) & (Subscription.subscriber_id == person.id),
        )
        .where(or_(MailingList.public, Subscription.subscriber_id.is_not(None)))
        .order_by(MailingList.name, MailingList.id)
    )
    choices = [_choice(mailing_list, subscription) for mailing_list, subscription in rows]
    return Preferences(
        person.id, person.email, person.language, is_suppressed(session, person.email), choices
    )


def _choice(mailing_list: MailingList, subscription: Subscription | None) -> ListChoice:
    topics = list(mailing_list.topics)
    chosen = (subscription.topics if subscription else []) or topics
    return ListChoice(
        mailing_list.id,
        mailing_list.name,
        mailing_list.description,
        topics,
        subscription.status if subscription else "",
        [t for t in topics if t in chosen],
    )


def save_preferences(
    session: Session,
    subscriber_id: int,
    *,
    lists: Mapping[int, Sequence[str]],
    language: str,
    ip: str,
    page: str = "",
    campaign_id: int | None = None,
) -> Changes:
    """Apply the form: the ticked ``lists`` (each with its ticked topics) and a language;
    lists not ticked are left. Lists the subscriber may not see are ignored."""
    current = preferences(session, subscriber_id)
    person = session.get(Subscriber, subscriber_id)
    assert person is not None  # preferences() found it
    changed_language = language in LANGUAGES and language != person.language
    if changed_language:
        person.language = language
    leaving = [c.id for c in current.lists if c.subscribed and c.id not in lists]
    left = leave_lists(session, subscriber_id, leaving, source=SOURCE, campaign_id=campaign_id)
    joined = []
    for choice in current.lists:
        if choice.id not in lists:
            continue
        if choice.subscribed:
            _set_topics(session, subscriber_id, choice, lists[choice.id])
        elif not current.suppressed:
            _join(session, subscriber_id, choice, lists[choice.id], ip=ip, page=page)
            joined.append(choice.id)
    return Changes(joined, left, changed_language)


def _set_topics(
    session: Session, subscriber_id: int, choice: ListChoice, topics: Sequence[str]
) -> None:
    subscription = session.get(Subscription, (subscriber_id, choice.id))
    mailing_list = session.get(MailingList, choice.id)
    if subscription is not None and mailing_list is not None:
        subscription.topics = chosen_topics(mailing_list, topics)


def _join(
    session: Session,
    subscriber_id: int,
    choice: ListChoice,
    topics: Sequence[str],
    *,
    ip: str,
    page: str,
) -> None:
    mailing_list = session.get(MailingList, choice.id)
    assert mailing_list is not None  # just listed
    subscription = session.get(Subscription, (subscriber_id, choice.id))
    if subscription is None:
        subscription = Subscription(subscriber_id=subscriber_id, list_id=choice.id)
        session.add(subscription)
    now = utcnow()
    subscription.status, subscription.topics = (
        SubscriptionStatus.CONFIRMED,
        chosen_topics(mailing_list, topics),
    )
    subscription.requested_at, subscription.requested_ip = now, ip[:64]
    subscription.consent_at, subscription.consent_ip = now, ip[:64]
    subscription.consent_source, subscription.consent_page = SOURCE, page[:500]
    session.flush()
    record_activity(
        session,
        ActivityKind.SUBSCRIBER_SUBSCRIBED,
        list_id=choice.id,
        subscriber_id=subscriber_id,
        data={"source": SOURCE},
    )
    send_welcome(session, list_id=choice.id, subscriber_ids=[subscriber_id])


def leave_everything(
    session: Session, subscriber_id: int, *, campaign_id: int | None = None
) -> list[int]:
    """Leave every list at once; return the lists left just now."""
    ids = session.scalars(
        select(Subscription.list_id).where(Subscription.subscriber_id == subscriber_id)
    ).all()
    return leave_lists(session, subscriber_id, ids, source=SOURCE, campaign_id=campaign_id)
