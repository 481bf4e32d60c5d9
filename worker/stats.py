"""The statistics tick: follow the activity log into aggregates, and hand new activity to
the outgoing webhooks.

It runs on its own beat entry (every scheduler tick): each step is its own unit of work,
idempotent, and safe on several workers at once (cursors are locked).
"""

from __future__ import annotations

from core.celery_app import enqueue_after_commit
from core.database import unit_of_work, utcnow
from core.tasks import TaskName
from publisher.stats import lists, rebuild
from publisher.webhooks import outgoing as webhooks


def stats_tick() -> None:
    """Follow the activity log (lists, unsubscribes, webhooks), settle finished campaigns."""
    follow_all()


def follow_all() -> None:
    """One round of every statistics follower, each in its own unit of work."""
    with unit_of_work() as session:
        lists.follow_activity(session)
    with unit_of_work() as session:
        lists.snapshot_list_sizes(session)
    with unit_of_work() as session:
        rebuild.settle_finished_campaigns(session)
    with unit_of_work() as session:
        webhooks.fan_out(session)
    with unit_of_work() as session:
        for delivery_id in webhooks.overdue_deliveries(session, now=utcnow()):
            enqueue_after_commit(session, TaskName.WEBHOOK_DELIVERY, delivery_id)
