"""Following the activity log: per-list days and per-campaign unsubscribes, exactly once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from core.activity import ActivityEvent, record_activity
from core.database import unit_of_work
from core.providers.events import ProviderEvent
from publisher.sending.deliveries import plan_deliveries
from publisher.sending.models import Delivery
from publisher.stats import cursors, lists
from publisher.stats.models import CampaignStats, ListDay, StatsCursor
from publisher.tracking.provider_events import record_events
from tests.fixtures.factories import add_announcement, add_list, add_subscribers

DAY = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)


def _days(list_id: int) -> dict[date, tuple[int, int, int, int, int | None]]:
    with unit_of_work() as session:
        rows = session.scalars(
            select(ListDay).where(
                ListDay.list_id == list_id, ListDay.day <= DAY.date() + timedelta(1)
            )
        )
        return {r.day: (r.subscribed, r.confirmed, r.unsubscribed, r.bounced, r.size) for r in rows}


def test_list_days_and_campaign_unsubscribes_are_counted_once(db: str) -> None:
    with unit_of_work() as session:
        news, events = add_list(session, "news"), add_list(session, "events")
        people = add_subscribers(session, news, 3)
        campaign = add_announcement(session, "news")
        ids = (news.id, events.id, campaign.id, [p.id for p in people])
    news_id, events_id, campaign_id, (a, b, c) = ids
    with unit_of_work() as session:
        for person in (a, b, c):
            record_activity(
                session, "subscriber.subscribed", list_id=news_id, subscriber_id=person, at=DAY
            )
        record_activity(session, "subscriber.confirmed", list_id=news_id, subscriber_id=a, at=DAY)
        tomorrow = DAY + timedelta(days=1)
        # One person leaves two lists through the campaign: one unsubscribe for the campaign.
        for list_id in (news_id, events_id):
            record_activity(
                session,
                "subscriber.unsubscribed",
                list_id=list_id,
                subscriber_id=b,
                campaign_id=campaign_id,
                at=tomorrow,
            )
        record_activity(
            session, "subscriber.bounced", list_id=news_id, subscriber_id=c, at=tomorrow
        )
        record_activity(session, "campaign.sent", campaign_id=campaign_id, at=tomorrow)
    with unit_of_work() as session:
        logged = session.scalar(select(func.count()).select_from(ActivityEvent))
        assert lists.follow_activity(session) == logged
    with unit_of_work() as session:
        assert lists.follow_activity(session) == 0  # nothing new: nothing counted again

    assert _days(news_id) == {
        DAY.date(): (3, 1, 0, 0, None),
        (DAY + timedelta(days=1)).date(): (0, 0, 1, 1, None),
    }
    assert _days(events_id) == {(DAY + timedelta(days=1)).date(): (0, 0, 1, 0, None)}
    with unit_of_work() as session:
        stats = session.get(CampaignStats, campaign_id)
        assert stats is not None and stats.unsubscribed == 1
        assert lists.snapshot_list_sizes(session, now=DAY)
        assert not lists.snapshot_list_sizes(session, now=DAY + timedelta(minutes=1))
    assert _days(news_id)[DAY.date()][4] == 3


def test_the_follower_waits_at_a_missing_id_then_steps_over_it(db: str) -> None:
    with unit_of_work() as session:
        for at in range(3):
            record_activity(session, "campaign.started", campaign_id=None, at=DAY + timedelta(at))
        session.flush()
        rows = list(session.scalars(select(ActivityEvent).order_by(ActivityEvent.id)))
    with unit_of_work() as session:
        cursor = cursors.claim_cursor(session, "test")
        cursor.position = rows[0].id - 1
        # The middle row is not visible yet: a transaction still running, as far as we know.
        visible = [rows[0], rows[2]]
        assert cursors._up_to_a_fresh_gap(cursor, visible, DAY) == [rows[0]]
        cursors.advance(cursor, [rows[0]])
        assert cursors._up_to_a_fresh_gap(cursor, [rows[2]], DAY + timedelta(seconds=30)) == []
        later = DAY + cursors.GAP_PATIENCE + timedelta(seconds=1)
        assert cursors._up_to_a_fresh_gap(cursor, [rows[2]], later) == [rows[2]]
        assert session.get(StatsCursor, "test") is cursor


def test_bounces_complaints_and_provider_unsubscribes_reach_the_list_days(db: str) -> None:
    with unit_of_work() as session:
        news = add_list(session, "news")
        a, b, c = add_subscribers(session, news, 3)
        campaign = add_announcement(session, "news")
        plan_deliveries(session, campaign.id)
        ids = {row.subscriber_id: row.id for row in session.scalars(select(Delivery))}
        record_events(
            session,
            "postmark",
            [
                ProviderEvent("hb", "bounced", ids[a.id], "", DAY, bounce="hard"),
                ProviderEvent("cp", "complained", ids[b.id], "", DAY),
                ProviderEvent("un", "unsubscribed", ids[c.id], "", DAY),
            ],
        )
        news_id, campaign_id = news.id, campaign.id
    with unit_of_work() as session:
        lists.follow_activity(session)
    with unit_of_work() as session:
        day = session.scalars(select(ListDay).where(ListDay.list_id == news_id)).one()
        assert (day.bounced, day.complained, day.unsubscribed) == (1, 1, 1)
        stats = session.get(CampaignStats, campaign_id)
        assert stats is not None and stats.unsubscribed == 1
