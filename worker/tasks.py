"""Celery tasks, registered by name: thin wrappers that take ids and call a flow."""

from __future__ import annotations

import logging
import random

from celery import Task

from core.celery_app import celery_app
from core.ratelimit import STORE_ERRORS
from worker import campaign_mail as campaign_mail
from worker import imports as imports
from worker import pipeline, scheduled, sending
from worker import stats_tasks as stats_tasks
from worker import transactional as transactional

MAX_BATCH_RETRIES = 8
log = logging.getLogger(__name__)


@celery_app.task(name="herald.campaigns.plan")
def plan_campaign(campaign_id: int) -> None:
    """Plan a sending campaign: compile its email, create deliveries, enqueue batches."""
    pipeline.plan_campaign(campaign_id)


@celery_app.task(name="herald.campaigns.enqueue")
def enqueue_batches(campaign_id: int) -> None:
    """Enqueue the batches of a campaign's queued deliveries (after a resume)."""
    pipeline.enqueue_campaign(campaign_id)


@celery_app.task(name="herald.campaigns.send_batch", bind=True, max_retries=MAX_BATCH_RETRIES)
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


@celery_app.task(name=sending.REPLAY_TASK)
def replay_attempt(campaign_id: int, attempt_id: str, tries: int = 0) -> None:
    """Send a claimed attempt again as itself (same key, same messages)."""
    try:
        sending.replay_attempt(campaign_id, attempt_id)
    except sending.RetryLater as later:
        # Past the last try the rows keep their lease; the sweeper replays them when it ends.
        if tries < MAX_BATCH_RETRIES:
            replay_attempt.apply_async(
                (campaign_id, attempt_id, tries + 1), countdown=later.delay or backoff(tries)
            )


@celery_app.task(name="herald.scheduler.tick")
def tick() -> None:
    """Start due campaigns and sweep stuck work."""
    scheduled.tick()


@celery_app.task(name="herald.scheduler.housekeeping")
def housekeeping() -> None:
    """Forget idle rate-limit buckets and old provider-health minutes (hourly)."""
    scheduled.housekeeping()


def backoff(retries: int) -> float:
    """Exponential backoff with full jitter, capped at five minutes."""
    return random.uniform(0.5, 1.5) * min(300.0, 2.0**retries)  # noqa: S311 - not crypto
