"""``herald demo``: sample content in a policy centre's shape, sent through the real pipeline.

Seeds posts (a forum, panels, a report, translations), a list of subscribers in three
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
from publisher.demo.content import DemoPost, demo_posts, demo_subscribers
from publisher.posts.models import Post, PostStatus
from subscribers.models import MailingList, OptIn, Subscriber, Subscription, SubscriptionStatus

DEMO_LIST_SLUG = "find-out-first"


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
    base_url = settings.base_url.rstrip("/")
    posts = _add_posts(session, demo_posts(base_url), base_url)
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
    originals = [posts[key] for key in posts if posts[key].translation_of_id is None]
    forum, panels, report = originals[0], originals[1:-1], originals[-1]
    announcement = create_campaign(
        session, kind=CampaignKind.ANNOUNCEMENT, list_slugs=[DEMO_LIST_SLUG], post_ids=[forum.id]
    )
    digest = create_campaign(
        session,
        kind=CampaignKind.DIGEST,
        list_slugs=[DEMO_LIST_SLUG],
        post_ids=[report.id, *(panel.id for panel in panels)],
        subject="This week at the Herald Policy Centre: a new report and two panels",
    )
    for campaign in (announcement, digest):
        start_sending(session, campaign)
    return DemoSeed(len(posts), count, (announcement.id, digest.id))


def _add_posts(session: Session, items: list[DemoPost], base_url: str) -> dict[str, Post]:
    posts: dict[str, Post] = {}
    for item in items:
        post = Post(
            kind=item.kind,
            language=item.language,
            translation_of_id=posts[item.translation_of].id if item.translation_of else None,
            slug=item.slug,
            title=item.title,
            summary=item.summary,
            body=item.body,
            takeaways=item.takeaways,
            speakers=item.speakers,
            media=item.media,
            topics=item.topics,
            author=item.author,
            url=f"{base_url}/posts/{item.slug}",
            image_url=item.image_url,
            image_alt=item.image_alt,
            location=item.location,
            starts_at=item.starts_at,
            timezone=item.timezone,
            status=PostStatus.PUBLISHED,
            published_at=item.published_at,
            source_id=f"demo:{item.key}",
        )
        session.add(post)
        session.flush()
        posts[item.key] = post
    return posts


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
