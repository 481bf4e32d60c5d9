"""Digests: posts since the last digest, hand-picked order, recurring schedules across DST,
concurrent ticks, empty runs skipped."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from core.database import unit_of_work
from publisher.campaigns.digests import (
    create_digest,
    create_schedule,
    next_run,
    posts_since_last_digest,
    run_due_digests,
)
from publisher.campaigns.models import Campaign, DigestSchedule
from publisher.campaigns.queries import campaign_posts
from publisher.campaigns.service import create_campaign
from publisher.posts.models import Post
from tests.fixtures.factories import add_list, add_post, add_subscribers

KYIV = ZoneInfo("Europe/Kyiv")


def _published(session, title: str, at: datetime) -> Post:  # type: ignore[no-untyped-def]
    post = add_post(session, title)
    post.published_at = at
    session.flush()
    return post


def test_a_digest_carries_the_posts_published_since_the_last_digest(db: str) -> None:
    t0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    with unit_of_work() as session:
        news = add_list(session)
        _published(session, "Old report", t0 - timedelta(days=3))
        first = create_digest(session, list_slugs=["news"], now=t0)
        assert [post.title for post in campaign_posts(session, first.id)] == ["Old report"]
        first.status, first.started_at = "sent", t0
        _published(session, "Forum «Відбудова»", t0 + timedelta(days=1))
        _published(session, "Panel on energy", t0 + timedelta(days=2))
        draft = _published(session, "Not yet", t0 + timedelta(days=2))
        draft.status = "draft"
        _published(session, "From the future", t0 + timedelta(days=30))
        later = t0 + timedelta(days=7)
        titles = [post.title for post in posts_since_last_digest(session, [news.id], now=later)]
        assert titles == ["Forum «Відбудова»", "Panel on energy"]


def test_a_cancelled_digest_does_not_count_as_the_last_one(db: str) -> None:
    t0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    with unit_of_work() as session:
        news = add_list(session)
        _published(session, "Report", t0 - timedelta(days=1))
        cancelled = create_digest(session, list_slugs=["news"], now=t0)
        cancelled.status, cancelled.started_at = "cancelled", t0
        assert [p.title for p in posts_since_last_digest(session, [news.id], now=t0)] == ["Report"]


def test_a_hand_picked_digest_keeps_the_editors_order(db: str) -> None:
    with unit_of_work() as session:
        add_list(session)
        posts = [add_post(session, title) for title in ("A", "B", "C")]
        order = [posts[2].id, posts[0].id, posts[1].id]
        digest = create_campaign(session, kind="digest", list_slugs=["news"], post_ids=order)
        assert [post.id for post in campaign_posts(session, digest.id)] == order


def _monday_kyiv(session, **values: object) -> DigestSchedule:  # type: ignore[no-untyped-def]
    options = {
        "name": "Monday digest",
        "list_slugs": ["news"],
        "weekdays": [1],
        "local_time": "09:00",
        "timezone": "Europe/Kyiv",
    }
    return create_schedule(session, **{**options, **values})  # type: ignore[arg-type]


def test_recurring_runs_keep_the_local_hour_across_dst(db: str) -> None:
    with unit_of_work() as session:
        add_list(session)
        schedule = _monday_kyiv(session, now=datetime(2026, 3, 20, tzinfo=UTC))
        # Kyiv is UTC+2 until the last Sunday of March, then UTC+3.
        assert schedule.next_run_at == datetime(2026, 3, 23, 7, 0, tzinfo=UTC)
        after_spring = next_run(schedule, after=datetime(2026, 3, 23, 7, 0, tzinfo=UTC))
        assert after_spring == datetime(2026, 3, 30, 6, 0, tzinfo=UTC)
        assert after_spring.astimezone(KYIV).hour == 9
        autumn = next_run(schedule, after=datetime(2026, 10, 20, tzinfo=UTC))
        assert autumn == datetime(2026, 10, 26, 7, 0, tzinfo=UTC)  # back to UTC+2 on the 25th
        assert autumn.astimezone(KYIV).hour == 9
        both = _monday_kyiv(session, weekdays=[1, 4], now=datetime(2026, 3, 24, tzinfo=UTC))
        assert both.next_run_at == datetime(2026, 3, 26, 7, 0, tzinfo=UTC)  # Thursday


def test_a_due_run_makes_a_digest_and_moves_to_the_next_week(db: str) -> None:
    run_at = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # Monday 09:00 Kyiv
    with unit_of_work() as session:
        add_subscribers(session, add_list(session), 3)
        _published(session, "Forum report", run_at - timedelta(days=2))
        schedule_id = _monday_kyiv(session, now=run_at - timedelta(days=1)).id
    with unit_of_work() as session:
        assert run_due_digests(session, now=run_at - timedelta(minutes=1)) == []
        runs = run_due_digests(session, now=run_at + timedelta(seconds=30))
        assert [run.outcome for run in runs] == [f"sent as campaign #{runs[0].campaign_id}"]
    with unit_of_work() as session:
        campaign = session.get(Campaign, runs[0].campaign_id)
        assert campaign is not None
        assert (campaign.kind, campaign.status, campaign.digest_run_at) == (
            "digest",
            "sending",
            run_at,
        )
        assert campaign.subject.endswith("2026-11-23")
        schedule = session.get(DigestSchedule, schedule_id)
        assert schedule is not None
        assert schedule.last_run_at == run_at
        assert schedule.next_run_at == run_at + timedelta(days=7)


def test_an_empty_run_is_skipped_not_sent(db: str) -> None:
    run_at = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    with unit_of_work() as session:
        add_subscribers(session, add_list(session), 2)
        schedule_id = _monday_kyiv(session, now=run_at - timedelta(days=1)).id
    with unit_of_work() as session:
        [run] = run_due_digests(session, now=run_at)
        assert run.campaign_id is None
        assert run.outcome.startswith("skipped")
    with unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(Campaign)) == 0
        schedule = session.get(DigestSchedule, schedule_id)
        assert schedule is not None and schedule.last_outcome.startswith("skipped")
        assert schedule.next_run_at == run_at + timedelta(days=7)


def test_two_ticks_at_once_make_one_digest(db: str) -> None:
    run_at = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    with unit_of_work() as session:
        add_subscribers(session, add_list(session), 2)
        _published(session, "Forum report", run_at - timedelta(days=1))
        _monday_kyiv(session, now=run_at - timedelta(days=1))
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def tick() -> None:
        try:
            barrier.wait()
            with unit_of_work() as session:
                run_due_digests(session, now=run_at)
        except BaseException as error:  # a lost race may only skip, never fail loudly here
            errors.append(error)

    threads = [threading.Thread(target=tick) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    with unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(Campaign)) == 1
    # SQLite may refuse the second writer outright ("database is locked"): still one digest.
    assert all("locked" in str(error) for error in errors), errors
    with unit_of_work() as session:  # and a later tick for the same run adds nothing
        assert run_due_digests(session, now=run_at + timedelta(minutes=1)) == []
        assert session.scalar(select(func.count()).select_from(Campaign)) == 1
