"""Small builders of test data: lists, subscribers, posts and campaigns."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.database import unit_of_work
from publisher.campaigns import create_campaign
from publisher.models import Campaign, Delivery, Post
from publisher.users import User, create_user, find_user, identity_for_session
from subscribers.models import MailingList, Subscriber, Subscription

LANGUAGES = ("en", "uk", "ja")
NAMES = {"en": "Alex O'Brien", "uk": "Мар'яна Коваленко", "ja": "佐藤 美咲"}


def add_list(session: Session, slug: str = "news") -> MailingList:
    """A single opt-in list."""
    mailing_list = MailingList(slug=slug, name=slug.title(), opt_in="single")
    session.add(mailing_list)
    session.flush()
    return mailing_list


def add_subscribers(
    session: Session, mailing_list: MailingList, count: int, *, status: str = "confirmed",
    prefix: str = "reader",
) -> list[Subscriber]:  # fmt: skip
    """``count`` subscribers on the list, languages rotating en/uk/ja."""
    people = []
    for index in range(count):
        language = LANGUAGES[index % 3]
        person = Subscriber(
            email=f"{prefix}{index}@example.com", name=NAMES[language], language=language
        )
        session.add(person)
        session.flush()
        session.add(Subscription(subscriber_id=person.id, list_id=mailing_list.id, status=status))
        people.append(person)
    session.flush()
    return people


def subscribe(session: Session, person: Subscriber, mailing_list: MailingList) -> None:
    """Also subscribe ``person`` (confirmed) to another list."""
    session.add(Subscription(subscriber_id=person.id, list_id=mailing_list.id, status="confirmed"))
    session.flush()


def add_post(session: Session, title: str = "Ukraine–Japan Forum: «Відбудова» 復興") -> Post:
    """A published event post with non-ASCII text."""
    post = Post(
        kind="event",
        title=title,
        summary="Two days of panels in Kyiv and Tokyo — “find out everything first”.",
        body="## Panels\n\n* Energy\n* Security\n",
        takeaways=["Reconstruction needs private capital", "Energy first"],
        speakers=[
            {
                "name": "佐藤 美咲",
                "role": "Director",
                "organisation": "Tokyo Institute",
                "quote": "“Together we rebuild.”",
            }
        ],
        url="http://testserver/posts/forum",
        slug="forum",
        starts_at=datetime(2026, 12, 12, 8, 0, tzinfo=UTC),
        timezone="Europe/Kyiv",
        status="published",
        published_at=datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
    )
    session.add(post)
    session.flush()
    return post


def add_announcement(session: Session, *slugs: str, subject: str = "") -> Campaign:
    """A draft announcement of a new post to the given lists."""
    post = add_post(session)
    return create_campaign(
        session, kind="announcement", list_slugs=list(slugs), post_ids=[post.id], subject=subject
    )


PASSWORD = "correct horse battery"


def add_user(session: Session, email: str = "admin@example.com", role: str = "admin") -> User:
    """An account with the password :data:`PASSWORD`."""
    return create_user(session, email=email, password=PASSWORD, role=role, name=role.title())


def log_in(client: TestClient, email: str = "admin@example.com", role: str = "admin") -> str:
    """Create the account (if new) and log ``client`` in; returns the session's CSRF token."""
    with unit_of_work() as session:
        if find_user(session, email) is None:
            add_user(session, email, role)
    answer = client.post(
        "/admin/login", data={"email": email, "password": PASSWORD}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text
    with unit_of_work() as session:
        identity = identity_for_session(session, client.cookies["herald_session"])
    assert identity is not None
    return identity.csrf_token


def add_draft(
    session: Session, title: str = "Panel: Cities that heal — Kharkiv and Kobe", *,
    status: str = "draft", topics: tuple[str, ...] = ("Events",), created_by_id: int | None = None,
) -> Post:  # fmt: skip
    """An unpublished event post (with a speaker and a recording) in the given status."""
    post = Post(
        kind="event", title=title, slug=f"draft-{uuid.uuid4().hex[:8]}", status=status,
        summary="Mayors’ advisers compare fifteen years of recovery — and the first three.",
        body="## Kobe and Kharkiv\n\nWhat «відбудова» means on a Monday morning.",
        speakers=[{"name": "Oksana Melnyk", "role": "Deputy Director",
                   "organisation": "Herald Policy Centre", "quote": "“Rebuild for winter.”"}],
        media=[{"label": "Recording", "url": "https://video.example.org/cities", "language": "en"}],
        topics=list(topics), timezone="Europe/Kyiv", created_by_id=created_by_id,
    )  # fmt: skip
    session.add(post)
    session.flush()
    return post


def emails_with_status(campaign_id: int, status: str) -> set[str]:
    """The addresses of the campaign's deliveries in ``status``."""
    with unit_of_work() as session:
        return set(
            session.scalars(
                select(Subscriber.email)
                .join(Delivery, Delivery.subscriber_id == Subscriber.id)
                .where(Delivery.campaign_id == campaign_id, Delivery.status == status)
            )
        )
