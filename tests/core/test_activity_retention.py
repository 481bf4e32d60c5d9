"""Retention of the activity log: rows past the period go once every follower of the log
(list statistics, outgoing webhooks) has applied them; young rows and rows a follower has
still to read stay (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from core.activity import ActivityEvent, ActivityKind, prune_activity, record_activity
from core.database import unit_of_work, utcnow
from publisher.stats.models import ListDay
from subscribers.models import MailingList
from tests.conftest import use_settings
from tests.fixtures.factories import add_list
from worker import scheduled, stats

OLD = utcnow() - timedelta(days=401)
YOUNG = utcnow() - timedelta(days=399)


def _record(count: int, at: datetime) -> None:
    with unit_of_work() as session:
        list_id = session.scalar(select(MailingList.id)) or add_list(session, "news").id
        for person in range(count):
            record_activity(
                session,
                ActivityKind.SUBSCRIBER_SUBSCRIBED,
                list_id=list_id,
                subscriber_id=person,
                at=at,
            )


def _ats() -> list[datetime]:
    with unit_of_work() as session:
        return list(session.scalars(select(ActivityEvent.at).order_by(ActivityEvent.id)))


def test_prune_deletes_old_applied_rows_a_batch_at_a_time(db: str) -> None:
    _record(5, OLD)
    _record(2, YOUNG)
    with unit_of_work() as session:
        ids = list(session.scalars(select(ActivityEvent.id).order_by(ActivityEvent.id)))
    with unit_of_work() as session:
        assert (
            prune_activity(
                session, before=utcnow() - timedelta(days=400), applied_up_to=ids[3], limit=3
            )
            == 3
        )
    with unit_of_work() as session:
        # The fifth old row is past what the followers applied: it stays, however old.
        assert (
            prune_activity(
                session, before=utcnow() - timedelta(days=400), applied_up_to=ids[3], limit=3
            )
            == 1
        )
    with unit_of_work() as session:
        left = list(session.scalars(select(ActivityEvent.id).order_by(ActivityEvent.id)))
    assert left == ids[4:]


def test_housekeeping_waits_for_every_follower_then_keeps_the_list_figures(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _record(4, OLD)
    _record(1, YOUNG)
    assert scheduled.prune_retained(now=utcnow())["activity"] == 0  # no follower has run
    stats.follow_all()
    with unit_of_work() as session:
        days = set(session.execute(select(ListDay.day, ListDay.subscribed)))
    use_settings(monkeypatch, retention_activity_days="0")
    assert scheduled.prune_retained(now=utcnow())["activity"] == 0  # kept forever
    use_settings(monkeypatch, retention_activity_days="400")
    assert scheduled.prune_retained(now=utcnow())["activity"] == 4
    assert len(_ats()) == 1
    with unit_of_work() as session:
        assert set(session.execute(select(ListDay.day, ListDay.subscribed))) == days
    assert (OLD.date(), 4) in days
