"""The send pipeline's flows, run in-process on SQLite and PostgreSQL, with the outbox.

Task enqueueing is captured instead of going to a broker; the tasks are then run by
calling their flows, in order. Real worker processes are covered in test_workers.py.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from core.celery_app import dispatching_to
from core.database import unit_of_work, utcnow
from core.settings import get_settings
from publisher.campaigns.models import Campaign
from publisher.campaigns.service import start_sending
from publisher.sending import attempts, deliveries
from publisher.sending.models import Delivery
from subscribers.models import Subscription, Suppression
from tests.fixtures.factories import add_announcement, add_list, add_subscribers, subscribe
from tests.fixtures.tasks import TaskRecorder, delivery_statuses
from worker import planning, scheduled


def _outbox(campaign_id: int) -> list[Path]:
    return sorted((get_settings().outbox_dir / f"campaign-{campaign_id}").glob("*.eml"))


def test_campaign_is_sent_once_to_each_eligible_recipient(tasks: TaskRecorder) -> None:
    with unit_of_work() as session:
        news, events = add_list(session, "news"), add_list(session, "events")
        people = add_subscribers(session, news, 7)
        subscribe(session, people[0], events)  # on both lists: still one message
        add_subscribers(session, events, 2, status="unconfirmed", prefix="pending")
        add_subscribers(session, events, 2, status="unsubscribed", prefix="gone")
        session.add(Suppression(email=people[1].email, reason="complaint"))
        campaign = add_announcement(session, "news", "events")
        start_sending(session, campaign)
    assert [name for name, _ in tasks.tasks] == ["herald.campaigns.plan"]
    tasks.run_all()
    with unit_of_work() as session:
        sent = session.get(Campaign, campaign.id)
        assert sent is not None
        assert (sent.status, sent.total) == ("sent", 6)
        assert set(sent.compiled["languages"]) == {"en", "uk", "ja"}
    assert delivery_statuses(campaign.id) == {"sent": 6}
    assert len(_outbox(campaign.id)) == 6


def test_planning_twice_creates_no_more_deliveries(tasks: TaskRecorder) -> None:
    with unit_of_work() as session:
        add_subscribers(session, add_list(session), 5)
        campaign = add_announcement(session, "news")
        start_sending(session, campaign)
    with unit_of_work() as session:
        assert deliveries.plan_deliveries(session, campaign.id, chunk=2) == 5
    with unit_of_work() as session:
        assert deliveries.plan_deliveries(session, campaign.id, chunk=3) == 5
        assert session.scalar(select(func.count()).select_from(Delivery)) == 5


def test_batches_follow_the_provider_batch_size(
    tasks: TaskRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    with unit_of_work() as session:
        add_subscribers(session, add_list(session), 11)
        campaign = add_announcement(session, "news")
        start_sending(session, campaign)
    monkeypatch.setattr(planning.current_provider(), "max_batch_size", 4)
    _, args = tasks.tasks.pop()
    planning.plan_campaign(*args)
    batches = [args for name, args in tasks.tasks if name == "herald.campaigns.send_batch"]
    assert [last - first + 1 for _, first, last in batches] == [4, 4, 3]
    tasks.run_all()
    assert delivery_statuses(campaign.id) == {"sent": 11}


def test_unsubscribed_after_planning_is_not_mailed(tasks: TaskRecorder) -> None:
    with unit_of_work() as session:
        people = add_subscribers(session, add_list(session), 3)
        campaign = add_announcement(session, "news")
        start_sending(session, campaign)
    planning.plan_campaign(tasks.tasks.pop(0)[1][0])
    with unit_of_work() as session:
        session.execute(
            update(Subscription)
            .where(Subscription.subscriber_id == people[2].id)
            .values(status="unsubscribed")
        )
    tasks.run_all()
    assert delivery_statuses(campaign.id) == {"sent": 2, "skipped": 1}
    assert len(_outbox(campaign.id)) == 2


def test_a_killed_sender_is_replayed_only_where_the_provider_is_idempotent(
    tasks: TaskRecorder,
) -> None:
    with unit_of_work() as session:
        add_subscribers(session, add_list(session), 4)
        campaign = add_announcement(session, "news")
        start_sending(session, campaign)
    planning.plan_campaign(tasks.tasks.pop(0)[1][0])
    tasks.tasks.clear()  # the batch tasks are lost with the broker
    with unit_of_work() as session:  # a worker claimed and dispatched the rows, then died
        claimed = attempts.claim_batch(
            session,
            campaign.id,
            1,
            10**9,
            attempt_id="dead",
            provider="postmark",
            lease=timedelta(seconds=-1),
        )
        assert len(claimed) == 4
        attempts.mark_dispatched(session, "dead", lease=timedelta(seconds=-1))
        session.execute(
            update(Delivery).where(Delivery.id == claimed[0].id).values(provider="outbox")
        )
    scheduled.resolve_expired_leases()
    assert delivery_statuses(campaign.id) == {"sending": 1, "unknown": 3}
    assert tasks.tasks == [("herald.campaigns.replay_attempt", [campaign.id, "dead"])]
    scheduled.resolve_expired_leases()  # the lease was renewed: no second replay
    assert len(tasks.tasks) == 1
    tasks.run_all()
    assert delivery_statuses(campaign.id) == {"sent": 1, "unknown": 3}
    with unit_of_work() as session:  # unknown rows wait for an admin, not the campaign
        assert session.get(Campaign, campaign.id).status == "sent"  # type: ignore[union-attr]


def test_lost_batch_tasks_are_recovered_by_the_sweeper(
    tasks: TaskRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    with unit_of_work() as session:
        add_subscribers(session, add_list(session), 3)
        campaign = add_announcement(session, "news")
        start_sending(session, campaign)
    planning.plan_campaign(tasks.tasks.pop(0)[1][0])
    tasks.tasks.clear()
    scheduled.resume_stalled()
    assert tasks.tasks == []  # not stalled yet
    with unit_of_work() as session:
        session.execute(update(Campaign).values(last_progress_at=utcnow() - timedelta(hours=1)))
    scheduled.resume_stalled()
    assert [name for name, _ in tasks.tasks] == ["herald.campaigns.send_batch"]
    tasks.run_all()
    scheduled.finish_done()
    assert delivery_statuses(campaign.id) == {"sent": 3}


def test_lost_plan_task_is_recovered_by_the_sweeper(tasks: TaskRecorder) -> None:
    with unit_of_work() as session:
        add_subscribers(session, add_list(session), 2)
        campaign = add_announcement(session, "news")
        start_sending(session, campaign)
        campaign.plan_requested_at = utcnow() - timedelta(hours=1)
    tasks.tasks.clear()
    scheduled.recover_lost_plans()
    assert tasks.tasks == [("herald.campaigns.plan", [campaign.id])]
    tasks.run_all()
    assert delivery_statuses(campaign.id) == {"sent": 2}


def test_rollback_enqueues_nothing(tasks: TaskRecorder) -> None:
    with pytest.raises(RuntimeError), unit_of_work() as session:
        add_subscribers(session, add_list(session), 1)
        start_sending(session, add_announcement(session, "news"))
        raise RuntimeError("the request failed after starting the campaign")
    assert tasks.tasks == []


def test_due_scheduled_campaigns_start(tasks: TaskRecorder) -> None:
    with unit_of_work() as session:
        add_subscribers(session, add_list(session), 2)
        due, later = add_announcement(session, "news"), add_announcement(session, "news")
        due.status, due.scheduled_at = "scheduled", utcnow() - timedelta(seconds=1)
        later.status, later.scheduled_at = "scheduled", utcnow() + timedelta(days=1)
    scheduled.start_due()
    assert tasks.tasks == [("herald.campaigns.plan", [due.id])]
    with unit_of_work() as session:
        assert session.get(Campaign, later.id).status == "scheduled"  # type: ignore[union-attr]


def test_planning_commits_chunk_by_chunk_and_sending_can_start_with_the_first(
    tasks: TaskRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    with unit_of_work() as session:
        add_subscribers(session, add_list(session), 7)
        campaign = add_announcement(session, "news")
        start_sending(session, campaign)
    monkeypatch.setattr(deliveries, "PLAN_CHUNK", 3)
    seen: list[tuple[str, int]] = []

    def record(name: str, args: list[Any]) -> None:
        with unit_of_work() as session:  # what a worker would see when the task arrives
            planned = session.scalar(select(func.count()).select_from(Delivery))
        seen.append((name, int(planned or 0)))
        tasks(name, args)

    tasks.tasks.clear()
    with dispatching_to(record):
        planning.plan_campaign(campaign.id)
    batches = [planned for name, planned in seen if name == "herald.campaigns.send_batch"]
    assert batches == [3, 6, 7]  # each chunk's batch left as soon as the chunk committed
    with unit_of_work() as session:
        planned = session.get(Campaign, campaign.id)
        assert planned is not None and planned.total == 7 and planned.planned_at is not None
    tasks.run_all()
    assert delivery_statuses(campaign.id) == {"sent": 7}
