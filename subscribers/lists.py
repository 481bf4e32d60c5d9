"""Lists: creating them, finding them, and how many subscribers each has in each status."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from subscribers.models import (
    OPT_IN_MODES,
    SUBSCRIPTION_STATUSES,
    MailingList,
    OptIn,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    Suppression,
)

SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,79}")
NAME_LENGTH = 200
LANGUAGES = {"en": "English", "uk": "Українська", "ja": "日本語"}
"""The languages a subscriber can choose (those the email labels exist in), by native name."""


class ListError(ValueError):
    """A list cannot be created as asked; the message says why."""


@dataclass(frozen=True, slots=True)
class ListSummary:
    """A list's settings and its subscribers per status (``suppressed`` counted apart)."""

    id: int
    slug: str
    name: str
    description: str
    opt_in: str
    public: bool
    language: str
    topics: list[str]
    counts: dict[str, int] = field(default_factory=dict)


def create_list(
    session: Session,
    *,
    slug: str,
    name: str,
    opt_in: str = OptIn.SINGLE,
    public: bool = True,
    language: str = "en",
    topics: Sequence[str] = (),
    description: str = "",
) -> MailingList:
    """A new list; refuses a malformed or taken slug, an unknown mode or language."""
    if not SLUG.fullmatch(slug):
        raise ListError("a slug is lower-case letters, digits and dashes (at most 80)")
    if opt_in not in OPT_IN_MODES:
        raise ListError(f"opt-in is one of {', '.join(OPT_IN_MODES)}")
    if language not in LANGUAGES:
        raise ListError(f"language is one of {', '.join(LANGUAGES)}")
    if not name.strip():
        raise ListError("a list needs a name")
    if len(name.strip()) > NAME_LENGTH:
        raise ListError(f"a list's name is at most {NAME_LENGTH} characters")
    if find_list(session, slug) is not None:
        raise ListError(f"a list {slug!r} exists already")
    mailing_list = MailingList(
        slug=slug,
        name=name.strip(),
        description=description.strip(),
        opt_in=opt_in,
        public=public,
        language=language,
        topics=_clean_topics(topics),
    )
    session.add(mailing_list)
    session.flush()
    return mailing_list


def _clean_topics(topics: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(topic.strip() for topic in topics if topic.strip()))


def find_list(session: Session, slug: str) -> MailingList | None:
    """The list with this slug, if any."""
    return session.scalars(select(MailingList).where(MailingList.slug == slug)).first()


def public_list(session: Session, slug: str) -> MailingList | None:
    """The list with this slug if anyone may subscribe to it (private lists: None)."""
    found = find_list(session, slug)
    return found if found is not None and found.public else None


def summaries(session: Session, lists: Sequence[MailingList]) -> list[ListSummary]:
    """Each list with its subscription counts by status, and how many are suppressed."""
    ids = [mailing_list.id for mailing_list in lists]
    counts: dict[int, dict[str, int]] = {
        i: dict.fromkeys((*SUBSCRIPTION_STATUSES, "suppressed"), 0) for i in ids
    }
    rows = session.execute(
        select(Subscription.list_id, Subscription.status, func.count())
        .where(Subscription.list_id.in_(ids))
        .group_by(Subscription.list_id, Subscription.status)
    )
    for list_id, status, count in rows:
        counts[list_id][status] = count
    suppressed = session.execute(
        select(Subscription.list_id, func.count())
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .join(Suppression, Suppression.email == Subscriber.email)
        .where(
            Subscription.list_id.in_(ids), Subscription.status != SubscriptionStatus.UNSUBSCRIBED
        )
        .group_by(Subscription.list_id)
    )
    for list_id, count in suppressed:
        counts[list_id]["suppressed"] = count
    return [_summary(mailing_list, counts[mailing_list.id]) for mailing_list in lists]


def _summary(mailing_list: MailingList, counts: dict[str, int]) -> ListSummary:
    return ListSummary(
        id=mailing_list.id,
        slug=mailing_list.slug,
        name=mailing_list.name,
        description=mailing_list.description,
        opt_in=mailing_list.opt_in,
        public=mailing_list.public,
        language=mailing_list.language,
        topics=list(mailing_list.topics),
        counts=counts,
    )


def all_lists(session: Session) -> list[MailingList]:
    """Every list, by name (the slug settles a tie)."""
    return list(session.scalars(select(MailingList).order_by(MailingList.name, MailingList.slug)))


def get_list(session: Session, list_id: int) -> MailingList | None:
    """The list with this id, if any."""
    return session.get(MailingList, list_id)


def list_names(session: Session) -> dict[int, str]:
    """Every list's name by its id."""
    return dict(session.execute(select(MailingList.id, MailingList.name)).all())


def slugs_of(session: Session, list_ids: Sequence[int]) -> list[str]:
    """The slugs of the lists with these ids, sorted."""
    query = select(MailingList.slug).where(MailingList.id.in_(list_ids)).order_by(MailingList.slug)
    return list(session.scalars(query))


def ids_by_slug(session: Session, slugs: Sequence[str]) -> dict[str, int]:
    """The ids of the lists with these slugs (an unknown slug is left out)."""
    query = select(MailingList.slug, MailingList.id).where(MailingList.slug.in_(slugs))
    return dict(session.execute(query).all())
