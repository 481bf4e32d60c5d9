"""Every Celery task, declared once each and in one way: take ids, call a flow.

The names and queues come from :mod:`core.tasks`; the flows live in the other ``worker``
modules, which never register tasks. What a task adds to its flow is only Celery's part:
turning a flow's "later" into a retry with backoff.
"""

from __future__ import annotations

import logging

from celery import Task

from core.celery_app import celery_app
from core.ratelimit import STORE_ERRORS
from core.tasks import TaskName
from worker import (
    campaign_mail,
    imports,
    planning,
    scheduled,
    sending,
    stats,
    transactional,
    webhooks,
)
from worker.retry import MAX_RETRIES, backoff

log = logging.getLogger(__name__)


@celery_app.task(name=TaskName.PLAN)
def plan_campaign(campaign_id: int) -> None:
    """Plan a sending campaign: compile its email, create deliveries, enqueue batches."""
    planning.plan_campaign(campaign_id)


@celery_app.task(name=TaskName.ENQUEUE)
def enqueue_batches(campaign_id: int) -> None:
    """Enqueue the batches of a campaign's queued deliveries (after a resume)."""
    planning.enqueue_campaign(campaign_id)


@celery_app.task(name=TaskName.SEND_BATCH, bind=True, max_retries=MAX_RETRIES)
def send_batch(self: Task, campaign_id: int, first_id: int, last_id: int) -> None:
    """Send the queued deliveries of one id range in one provider call."""
    try:
        sending.send_batch(campaign_id, first_id, last_id)
    except sending.ReplayLater as later:
        replay_attempt.apply_async(
            (campaign_id, later.attempt_id, 1), countdown=later.delay or backoff(0)
        )
    except sending.RetryLater as later:
        raise self.retry(countdown=later.delay or backoff(self.request.retries)) from later
    except STORE_ERRORS as error:
        # The database or Redis failed mid-batch: whatever was claimed and not dispatched
        # goes back to the queue by the sweeper; this range is tried again meanwhile.
        log.warning("batch %s-%s of campaign %s: %r", first_id, last_id, campaign_id, error)
        raise self.retry(countdown=backoff(self.request.retries)) from error


@celery_app.task(name=TaskName.REPLAY_ATTEMPT)
def replay_attempt(campaign_id: int, attempt_id: str, tries: int = 0) -> None:
    """Send a claimed attempt again as itself (same key, same messages)."""
    try:
        sending.replay_attempt(campaign_id, attempt_id)
    except sending.RetryLater as later:
        # Past the last try the rows keep their lease; the sweeper replays them when it ends.
        if tries < MAX_RETRIES:
            replay_attempt.apply_async(
                (campaign_id, attempt_id, tries + 1), countdown=later.delay or backoff(tries)
            )


@celery_app.task(name=TaskName.IMPORT_SUBSCRIBERS)
def import_subscribers(job_id: int) -> None:
    """Run an uploaded import job, then remove its file."""
    imports.import_subscribers(job_id)


@celery_app.task(name=TaskName.SEND_CONFIRMATIONS, bind=True, max_retries=MAX_RETRIES)
def send_confirmations(self: Task, list_id: int, subscriber_ids: list[int]) -> None:
    """Email a confirmation link to each subscriber still waiting to confirm the list."""
    try:
        transactional.deliver_confirmations(list_id, subscriber_ids)
    except transactional.SendLater as later:
        raise _retry_for(self, list_id, later) from later


@celery_app.task(name=TaskName.SEND_WELCOMES, bind=True, max_retries=MAX_RETRIES)
def send_welcomes(self: Task, list_id: int, subscriber_ids: list[int]) -> None:
    """Email the list's welcome to each subscriber who just joined it."""
    try:
        transactional.deliver_welcomes(list_id, subscriber_ids)
    except transactional.SendLater as later:
        raise _retry_for(self, list_id, later) from later


def _retry_for(task: Task, list_id: int, later: transactional.SendLater) -> Exception:
    """The task again, for the subscribers not yet sent to only."""
    delay = later.delay or backoff(task.request.retries)
    return task.retry(args=(list_id, later.subscriber_ids), countdown=delay)  # type: ignore[no-any-return]


@celery_app.task(name=TaskName.TEST_SEND)
def test_send(campaign_id: int, addresses: list[str]) -> None:
    """Send a campaign's "[Test]" messages to the given addresses (no deliveries)."""
    campaign_mail.send_test(campaign_id, addresses)


@celery_app.task(name=TaskName.WEBHOOK_DELIVERY, bind=True)
def webhook_delivery(self: Task, delivery_id: int) -> None:
    """Try one outgoing webhook delivery; schedule the next try if it failed."""
    retry_in = webhooks.deliver_webhook(delivery_id)
    if retry_in is not None:
        # A new message rather than a retry: the delivery row counts the attempts.
        self.apply_async((delivery_id,), countdown=retry_in)


@celery_app.task(name=TaskName.SCHEDULER_TICK)
def tick() -> None:
    """Start due campaigns and sweep stuck work."""
    scheduled.tick()


@celery_app.task(name=TaskName.STATS_TICK)
def stats_tick() -> None:
    """Follow the activity log into the statistics and the outgoing webhooks."""
    stats.stats_tick()


@celery_app.task(name=TaskName.HOUSEKEEPING)
def housekeeping() -> None:
    """Forget idle rate-limit buckets and old provider-health minutes, prune rows past their
    retention (hourly)."""
    scheduled.housekeeping()
