"""Topics chosen in the preference centre decide who gets a campaign, when it is planned
and again when its batch is sent (on SQLite and PostgreSQL, through the real pipeline)."""

from __future__ import annotations

from sqlalchemy import select, update

from core.database import unit_of_work
from publisher.campaigns.service import create_campaign, start_sending
from publisher.sending.models import Delivery
from subscribers.models import Subscriber, Subscription
from tests.fixtures.factories import add_list, add_post, add_subscribers
from tests.fixtures.tasks import TaskRecorder
from worker import planning

CHOICES = {
    "all@example.com": [],
    "research@example.com": ["Research"],
    "events@example.com": ["Events"],
    "both@example.com": ["Research", "Events"],
}


def _readers() -> None:
    with unit_of_work() as session:
        news = add_list(session, "news")
        news.topics = ["Events", "Research"]
        for person, (email, topics) in zip(
            add_subscribers(session, news, len(CHOICES)), CHOICES.items(), strict=True
        ):
            person.email = email
            session.execute(
                update(Subscription)
                .where(Subscription.subscriber_id == person.id)
                .values(topics=topics)
            )


def _announce(topics: list[str], recorder: TaskRecorder, *, hold: bool = False) -> int:
    with unit_of_work() as session:
        post = add_post(session)
        post.topics = topics
        campaign = create_campaign(
            session, kind="announcement", list_slugs=["news"], post_ids=[post.id], subject="S"
        )
        start_sending(session, campaign)
    if not hold:
        recorder.run_all()
    return campaign.id


def _recipients(campaign_id: int, status: str = "sent") -> set[str]:
    with unit_of_work() as session:
        return set(
            session.scalars(
                select(Subscriber.email)
                .join(Delivery, Delivery.subscriber_id == Subscriber.id)
                .where(Delivery.campaign_id == campaign_id, Delivery.status == status)
            )
        )


def test_a_campaign_reaches_only_those_who_chose_its_topic_or_all(tasks: TaskRecorder) -> None:
    _readers()
    events = _announce(["events"], tasks)  # an editor's spelling: topics match in any case
    assert _recipients(events) == {"all@example.com", "events@example.com", "both@example.com"}
    research = _announce(["Research", "Analysis"], tasks)
    assert _recipients(research) == {"all@example.com", "research@example.com", "both@example.com"}


def test_a_post_without_topics_goes_to_everyone_on_the_list(tasks: TaskRecorder) -> None:
    _readers()
    assert _recipients(_announce([], tasks)) == set(CHOICES)


def test_a_topic_dropped_after_planning_skips_the_planned_message(tasks: TaskRecorder) -> None:
    _readers()
    campaign_id = _announce(["Events"], tasks, hold=True)
    _, (plan_args) = tasks.tasks.pop(0)  # plan only: the batches wait
    planning.plan_campaign(*plan_args)
    with unit_of_work() as session:
        person = session.scalars(
            select(Subscriber.id).where(Subscriber.email == "both@example.com")
        ).one()
        session.execute(
            update(Subscription)
            .where(Subscription.subscriber_id == person)
            .values(topics=["Research"])
        )
    tasks.run_all()
    assert _recipients(campaign_id) == {"all@example.com", "events@example.com"}
    assert _recipients(campaign_id, "skipped") == {"both@example.com"}
