"""Subscribing through a public form or the JSON API, without telling who is subscribed.

Whatever the address's state — new, waiting for confirmation, confirmed, unsubscribed,
suppressed — the caller gives the same answer; only what happens behind it differs:

- new: a subscription, confirmed at once on a single opt-in list (and welcomed), otherwise
  waiting for the confirmation emailed now;
- waiting: the confirmation is emailed again (not twice within ten minutes);
- confirmed: nothing;
- unsubscribed: a new request that only the person's own confirmation completes, even on a
  single opt-in list (anyone can type an address into a form);
- suppressed or blocked: nothing at all, nothing sent.

A known subscriber's name, language and time zone are never changed from a public form.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.activity import ActivityKind, record_activity
from core.database import insert_ignoring_conflicts, utcnow
from subscribers.addresses import normalise_address
from subscribers.consent import CONFIRM_DAYS, ask_for_confirmation, recently_asked, send_welcome
from subscribers.lists import LANGUAGES
from subscribers.models import (
    MailingList,
    OptIn,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
)
from subscribers.suppression import is_suppressed

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Signup:
    """What a form or the JSON API was given, and where it came from."""

    email: str
    name: str = ""
    language: str = ""
    timezone: str = ""
    topics: tuple[str, ...] = ()
    source: str = "form"
    """How: ``form`` (our page or an embedded copy of its form) or ``api``."""
    page: str = ""
    ip: str = ""


def subscribe(session: Session, mailing_list: MailingList, signup: Signup) -> str:
    """Act on a signup (see the module); return what was done, for logs and tests only.

    Raises :class:`~subscribers.addresses.InvalidAddress` for an unusable address.
    """
    email = normalise_address(signup.email)
    if is_suppressed(session, email):
        return "suppressed"
    person = _person(session, email, signup, mailing_list)
    if person.status != SubscriberStatus.ACTIVE:
        return "blocked"
    subscription = session.get(Subscription, (person.id, mailing_list.id))
    if subscription is None:
        return _new(session, mailing_list, person, signup)
    if subscription.status == SubscriptionStatus.CONFIRMED:
        return "already"
    if subscription.status == SubscriptionStatus.UNCONFIRMED and recently_asked(subscription):
        return "asked recently"
    if _request(subscription, mailing_list, signup):
        record_activity(
            session,
            ActivityKind.SUBSCRIBER_SUBSCRIBED,
            list_id=mailing_list.id,
            subscriber_id=person.id,
            data={"source": signup.source, "again": True},
        )
    ask_for_confirmation(session, list_id=mailing_list.id, subscriber_ids=[person.id])
    return "asked again"


def _person(session: Session, email: str, signup: Signup, mailing_list: MailingList) -> Subscriber:
    """The subscriber with this address, created from the signup if new (race-safe)."""
    insert = insert_ignoring_conflicts(session, Subscriber.__table__, index_elements=["email"])
    session.execute(
        insert.values(
            email=email,
            name=clean_name(signup.name),
            language=signup.language if signup.language in LANGUAGES else mailing_list.language,
            timezone=_zone(signup.timezone),
            attributes={},
            status=SubscriberStatus.ACTIVE,
            created_at=utcnow(),
        )
    )
    return session.scalars(select(Subscriber).where(Subscriber.email == email)).one()


def _new(session: Session, mailing_list: MailingList, person: Subscriber, signup: Signup) -> str:
    subscription = Subscription(subscriber_id=person.id, list_id=mailing_list.id)
    _request(subscription, mailing_list, signup)
    single = mailing_list.opt_in == OptIn.SINGLE
    if single:
        subscription.status = SubscriptionStatus.CONFIRMED
        subscription.consent_at, subscription.consent_ip = subscription.requested_at, signup.ip
    session.add(subscription)
    session.flush()
    record_activity(
        session,
        ActivityKind.SUBSCRIBER_SUBSCRIBED,
        list_id=mailing_list.id,
        subscriber_id=person.id,
        data={"source": signup.source},
    )
    if single:
        send_welcome(session, list_id=mailing_list.id, subscriber_ids=[person.id])
        return "subscribed"
    ask_for_confirmation(session, list_id=mailing_list.id, subscriber_ids=[person.id])
    return "asked"


def _request(subscription: Subscription, mailing_list: MailingList, signup: Signup) -> bool:
    """Record a new request on the subscription, unless a pending one is still valid (the
    link of its first email keeps working); whether a new one was recorded."""
    now = utcnow()
    previous = subscription.requested_at
    if (
        subscription.status == SubscriptionStatus.UNCONFIRMED
        and previous
        and now - previous < _LINK_LIFE
    ):
        return False
    subscription.status = SubscriptionStatus.UNCONFIRMED
    subscription.requested_at, subscription.requested_ip = now, signup.ip[:64]
    subscription.consent_at, subscription.consent_ip = None, ""
    subscription.consent_source, subscription.consent_page = signup.source, page_of(signup.page)
    subscription.topics = chosen_topics(mailing_list, signup.topics)
    return True


_LINK_LIFE = timedelta(days=CONFIRM_DAYS)


def chosen_topics(mailing_list: MailingList, topics: Sequence[str]) -> list[str]:
    """The list's topics among ``topics``; empty (all of them) when none or all are chosen."""
    chosen = [topic for topic in mailing_list.topics if topic in set(topics)]
    return [] if len(chosen) == len(mailing_list.topics) else chosen


def clean_name(name: str) -> str:
    """A display name without control characters, at most 200 characters."""
    return _CONTROL.sub("", name).strip()[:200]


def _zone(name: str) -> str:
    try:
        return name if name and ZoneInfo(name) else "UTC"
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"


def page_of(url: str) -> str:
    """The page a URL names, without its query and fragment (they may carry personal data)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https"):
        return ""
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))[:500]
