"""Statistics tasks: follow the activity log into aggregates; deliver outgoing webhooks.

``herald.scheduler.stats`` runs on its own beat entry (every scheduler tick): each step is
its own unit of work, idempotent, and safe on several workers at once (cursors are locked).
"""

from __future__ import annotations

import logging

from celery import Task

from core.celery_app import celery_app, enqueue_after_commit
from core.database import unit_of_work, utcnow
from publisher.stats import lists, rebuild
from publisher.webhooks import outgoing as webhooks

log = logging.getLogger(__name__)


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
            enqueue_after_commit(session, webhooks.TASK, delivery_id)


def webhook_delivery(task: Task, delivery_id: int) -> None:
    """Try one outgoing webhook delivery; schedule the next try if it failed."""
    retry_in = deliver_webhook(delivery_id)
    if retry_in is not None:
        task.apply_async((delivery_id,), countdown=retry_in)


def deliver_webhook(delivery_id: int) -> float | None:
    """Claim, POST, record; return seconds until the next try (None: done or not ours)."""
    with unit_of_work() as session:
        attempt = webhooks.claim_attempt(session, delivery_id, now=utcnow())
    if attempt is None:
        return None
    answer = webhooks.post(attempt)
    with unit_of_work() as session:
        retry_in = webhooks.record_answer(session, attempt, answer, now=utcnow())
    if answer.refused:
        log.warning("webhook delivery %s not sent: %s", delivery_id, answer.error)
    elif not answer.ok:
        log.info("webhook delivery %s failed: %s", delivery_id, answer.error)
    return retry_in


# Registered by call rather than as decorators: Celery's decorators are untyped.
celery_app.task(name="herald.scheduler.stats")(stats_tick)
celery_app.task(name=webhooks.TASK, bind=True)(webhook_delivery)
