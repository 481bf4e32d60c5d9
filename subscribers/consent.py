"""Consent: double opt-in as explicit steps (ask, confirm), and the record of who agreed.

1. **Ask**: a subscription waits ``unconfirmed`` with the time of the request; a
   transactional task (enqueued after the commit, ids only) emails a signed link that names
   the subscriber, the list and that request, and expires after :data:`CONFIRM_DAYS`.
2. **Confirm**: following the link (a POST from the page it opens: link scanners fetch
   every GET) moves exactly that request to ``confirmed`` and records when and from which
   IP; the page the subscriber signed up on was recorded with the request. A replayed link
   changes nothing (the consent time is never overwritten); a link for an older request —
   the subscriber left since, or asked again — is refused.
3. **Welcome**: one email after the confirmation, through the same transactional queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import SignatureExpired
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.activity import ActivityKind, record_activity
from core.celery_app import enqueue_after_commit
from core.database import utcnow
from core.tasks import TaskName
from core.tokens import InvalidToken, make_token, read_token
from subscribers.models import (
    MailingList,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
)
from subscribers.suppression import is_suppressed, suppressed_addresses
from subscribers.unsubscribe import unsubscribe_token

TASK_CHUNK = 500
"""Subscriber ids per transactional task: a million-row import is 2,000 tasks, not 1M."""
CONFIRM_DAYS = 7
_PURPOSE = "confirm"


class LinkExpired(InvalidToken):
    """A genuine confirmation link, older than :data:`CONFIRM_DAYS`."""


@dataclass(frozen=True, slots=True)
class ConfirmRequest:
    """What a valid confirmation token names: one request of one subscriber for one list."""

    subscriber_id: int
    list_id: int
    requested: int
    """The request's time in whole seconds: the link is good for that request only."""


@dataclass(frozen=True, slots=True)
class Confirmation:
    """Where a confirmation stands: ``pending`` (the page before the click), ``confirmed``
    (just now), ``already`` (earlier: a replay), or ``stale`` (not for this request)."""

    outcome: str
    email: str = ""
    list_name: str = ""
    preferences_token: str = ""


@dataclass(frozen=True, slots=True)
class Notice:
    """One transactional email to write: to whom, about which list, with the links' tokens."""

    subscriber_id: int
    email: str
    name: str
    language: str
    list_id: int
    list_name: str
    list_description: str
    unsubscribe_token: str
    confirm_token: str = ""


def ask_for_confirmation(session: Session, *, list_id: int, subscriber_ids: Sequence[int]) -> None:
    """Send each subscriber a confirmation email for the list, once this unit of work commits."""
    _enqueue_in_chunks(session, TaskName.SEND_CONFIRMATIONS, list_id, subscriber_ids)


def send_welcome(session: Session, *, list_id: int, subscriber_ids: Sequence[int]) -> None:
    """Send each subscriber the list's welcome email, once this unit of work commits."""
    _enqueue_in_chunks(session, TaskName.SEND_WELCOMES, list_id, subscriber_ids)


def _enqueue_in_chunks(session: Session, task: TaskName, list_id: int, ids: Sequence[int]) -> None:
    for start in range(0, len(ids), TASK_CHUNK):
        enqueue_after_commit(
            session, task, list_id, [int(i) for i in ids[start : start + TASK_CHUNK]]
        )


def confirmation_token(subscriber_id: int, list_id: int, requested_at: datetime) -> str:
    """The signed, expiring token of the confirmation link for one request."""
    value = [subscriber_id, list_id, int(requested_at.timestamp())]
    return make_token(_PURPOSE, value, expiring=True)


def read_confirmation_token(token: str) -> ConfirmRequest:
    """The request a token names, or InvalidToken (forged, altered) / LinkExpired."""
    try:
        value = read_token(_PURPOSE, token, max_age_seconds=CONFIRM_DAYS * 86400)
    except InvalidToken as error:
        if isinstance(error.__cause__, SignatureExpired):
            raise LinkExpired("the confirmation link has expired") from error
        raise
    try:
        subscriber_id, list_id, requested = value
        return ConfirmRequest(int(subscriber_id), int(list_id), int(requested))
    except (TypeError, ValueError) as error:
        raise InvalidToken("malformed confirmation token") from error


def describe_confirmation(session: Session, token: str) -> Confirmation:
    """Where the link's request stands, changing nothing (the page a GET shows)."""
    wanted = read_confirmation_token(token)
    found = _request(session, wanted)
    if found is None:
        return Confirmation("stale")
    subscription, person, mailing_list = found
    outcome = "already" if subscription.status == SubscriptionStatus.CONFIRMED else "pending"
    return _confirmation(outcome, person, mailing_list)


def confirm(session: Session, token: str, *, ip: str) -> Confirmation:
    """Confirm the link's request: consent recorded once, a welcome email queued."""
    wanted = read_confirmation_token(token)
    found = _request(session, wanted)
    if found is None:
        return Confirmation("stale")
    subscription, person, mailing_list = found
    if subscription.status == SubscriptionStatus.CONFIRMED:
        return _confirmation("already", person, mailing_list)
    changed = session.execute(
        update(Subscription)
        .where(
            Subscription.subscriber_id == person.id,
            Subscription.list_id == mailing_list.id,
            Subscription.status == SubscriptionStatus.UNCONFIRMED,
            Subscription.requested_at == subscription.requested_at,
        )
        .values(status=SubscriptionStatus.CONFIRMED, consent_at=utcnow(), consent_ip=ip[:64])
        .execution_options(synchronize_session="fetch")
    ).rowcount  # type: ignore[attr-defined]
    if not changed:  # a concurrent click won
        return _confirmation("already", person, mailing_list)
    record_activity(
        session,
        ActivityKind.SUBSCRIBER_CONFIRMED,
        list_id=mailing_list.id,
        subscriber_id=person.id,
        data={"source": subscription.consent_source},
    )
    send_welcome(session, list_id=mailing_list.id, subscriber_ids=[person.id])
    return _confirmation("confirmed", person, mailing_list)


def _request(
    session: Session, wanted: ConfirmRequest
) -> tuple[Subscription, Subscriber, MailingList] | None:
    """The subscription, person and list of a request still standing (else None)."""
    row = session.execute(
        select(Subscription, Subscriber, MailingList)
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .join(MailingList, MailingList.id == Subscription.list_id)
        .where(Subscription.subscriber_id == wanted.subscriber_id)
        .where(Subscription.list_id == wanted.list_id)
    ).first()
    if row is None:
        return None
    subscription, person, mailing_list = row
    requested = subscription.requested_at
    if (
        requested is None
        or int(requested.timestamp()) != wanted.requested
        or subscription.status == SubscriptionStatus.UNSUBSCRIBED
        or person.status != SubscriberStatus.ACTIVE
        or is_suppressed(session, person.email)
    ):
        return None
    return subscription, person, mailing_list


def _confirmation(outcome: str, person: Subscriber, mailing_list: MailingList) -> Confirmation:
    token = unsubscribe_token(person.id, (mailing_list.id,), None)
    return Confirmation(outcome, person.email, mailing_list.name, token)


def confirmations_due(
    session: Session, *, list_id: int, subscriber_ids: Sequence[int]
) -> list[Notice]:
    """The confirmation emails still to send: subscriptions still unconfirmed, of active,
    unsuppressed people (an import's rows get their request time now)."""
    session.execute(
        update(Subscription)
        .where(Subscription.list_id == list_id, Subscription.subscriber_id.in_(subscriber_ids))
        .where(Subscription.requested_at.is_(None))
        .values(requested_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return [
        _notice(person, mailing_list, confirmation_token(person.id, list_id, requested))
        for person, requested, mailing_list in _due(
            session, list_id, subscriber_ids, SubscriptionStatus.UNCONFIRMED
        )
        if requested is not None
    ]


def welcomes_due(session: Session, *, list_id: int, subscriber_ids: Sequence[int]) -> list[Notice]:
    """The welcome emails still worth sending: subscriptions confirmed, people mailable."""
    rows = _due(session, list_id, subscriber_ids, SubscriptionStatus.CONFIRMED)
    return [_notice(person, mailing_list) for person, _, mailing_list in rows]


def _due(
    session: Session, list_id: int, ids: Sequence[int], status: str
) -> list[tuple[Subscriber, datetime | None, MailingList]]:
    """The subscriptions in ``status`` of active, unsuppressed people among ``ids``."""
    rows = session.execute(
        select(Subscriber, Subscription.requested_at, MailingList)
        .join(Subscription, Subscription.subscriber_id == Subscriber.id)
        .join(MailingList, MailingList.id == Subscription.list_id)
        .where(Subscription.list_id == list_id, Subscription.subscriber_id.in_(ids))
        .where(Subscription.status == status, Subscriber.status == SubscriberStatus.ACTIVE)
        .order_by(Subscriber.id)
    )
    found = list(rows)
    blocked = suppressed_addresses(session, [person.email for person, _, _ in found])
    return [row for row in found if row[0].email not in blocked]


def _notice(person: Subscriber, mailing_list: MailingList, confirm_token: str = "") -> Notice:
    return Notice(
        subscriber_id=person.id,
        email=person.email,
        name=person.name,
        language=person.language or mailing_list.language,
        list_id=mailing_list.id,
        list_name=mailing_list.name,
        list_description=mailing_list.description,
        unsubscribe_token=unsubscribe_token(person.id, (mailing_list.id,), None),
        confirm_token=confirm_token,
    )


def mark_confirmations_sent(
    session: Session, *, list_id: int, subscriber_ids: Sequence[int]
) -> None:
    """Note that these subscribers' confirmation emails have left (resends are spaced out)."""
    session.execute(
        update(Subscription)
        .where(Subscription.list_id == list_id, Subscription.subscriber_id.in_(subscriber_ids))
        .values(confirmation_sent_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def recently_asked(subscription: Subscription, *, minutes: int = 10) -> bool:
    """Whether a confirmation email for this subscription left within ``minutes``."""
    sent = subscription.confirmation_sent_at
    return sent is not None and utcnow() - sent < timedelta(minutes=minutes)
