"""``herald demo``: sample content in a policy centre's shape, sent through the real pipeline.

Seeds posts (a forum, panels, a report, translations) through the post importer, from the
Markdown files in ``content/`` (:mod:`publisher.demo.samples`), a list of subscribers in three
languages, one announcement and one digest; a worker process sends them; the demo checks
that every planned message was delivered.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from core.database import utcnow
from core.settings import Settings
from publisher.campaigns.models import Campaign, CampaignKind
from publisher.campaigns.service import create_campaign, start_sending
from publisher.demo.people import demo_subscribers
from publisher.demo.samples import DIGEST_SLUGS, FORUM_SLUG, demo_sources
from publisher.posts.importing import import_sources
from publisher.posts.models import Post
from publisher.posts.service import CLI
from subscribers.models import MailingList, OptIn, Subscriber, Subscription, SubscriptionStatus

DEMO_LIST_SLUG = "find-out-first"


class DemoContentError(RuntimeError):
    """A demo content file did not import: the demo ships broken."""


@dataclass(frozen=True, slots=True)
class DemoSeed:
    """What the demo created."""

    posts: int
    subscribers: int
    campaign_ids: tuple[int, ...]


def database_is_empty(session: Session) -> bool:
    """Whether the database holds no posts, campaigns or subscribers yet."""
    return not any(
        session.scalar(select(exists().select_from(model)))
        for model in (Post, Campaign, Subscriber)
    )


def seed_demo(session: Session, settings: Settings, *, subscribers: int = 300) -> DemoSeed:
    """Create the demo content and start its two campaigns (tasks go out after the commit)."""
    posts = import_demo_posts(session, settings.base_url)
    mailing_list = MailingList(
        slug=DEMO_LIST_SLUG,
        name="Find out first",
        description="Events and research of the Herald Policy Centre, as soon as they are out.",
        opt_in=OptIn.DOUBLE,
        topics=["Events", "Research"],
    )
    session.add(mailing_list)
    session.flush()
    count = _add_subscribers(session, mailing_list.id, subscribers)
    announcement = create_campaign(
        session,
        kind=CampaignKind.ANNOUNCEMENT,
        list_slugs=[DEMO_LIST_SLUG],
        post_ids=[posts[FORUM_SLUG].id],
    )
    digest = create_campaign(
        session,
        kind=CampaignKind.DIGEST,
        list_slugs=[DEMO_LIST_SLUG],
        post_ids=[posts[slug].id for slug in DIGEST_SLUGS],
        subject="This week at the Herald Policy Centre: a new report and two panels",
    )
    for campaign in (announcement, digest):
        start_sending(session, campaign)
    return DemoSeed(len(posts), count, (announcement.id, digest.id))


def import_demo_posts(session: Session, base_url: str) -> dict[str, Post]:
    """The demo posts imported and published (links on ``base_url``), by slug."""
    report = import_sources(session, sources=demo_sources(base_url), actor=CLI)
    if report.rejected or report.notes:
        problems = [f"{item.origin}: {item.reason}" for item in report.rejected]
        raise DemoContentError("; ".join([*problems, *report.notes]))
    return {item.post.slug: item.post for item in report.imported}


def _add_subscribers(session: Session, list_id: int, count: int) -> int:
    now = utcnow()
    people = demo_subscribers(count)
    for person in people:
        subscriber = Subscriber(
            email=person.email, name=person.name, language=person.language, timezone=person.timezone
        )
        session.add(subscriber)
        session.flush()
        session.add(
            Subscription(
                subscriber_id=subscriber.id,
                list_id=list_id,
                status=SubscriptionStatus.CONFIRMED,
                consent_at=now,
                consent_source="herald demo",
            )
        )
    return len(people)


def outbox_files(outbox_dir: Path, campaign_ids: tuple[int, ...]) -> int:
    """How many messages of these campaigns the outbox holds."""
    return sum(
        len(list((outbox_dir / f"campaign-{campaign_id}").glob("*.eml")))
        for campaign_id in campaign_ids
    )
