"""The send pipeline's planning: compile a campaign's email, create its deliveries, enqueue
its batches by id range. Sending one batch lives in :mod:`worker.sending`.

This process's provider and its parsed campaign snapshots live here too: every sender
(batches, replays, transactional mail, the sweeper) asks for them through this module.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import lru_cache

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.celery_app import enqueue_after_commit
from core.database import unit_of_work, utcnow
from core.providers.base import Provider
from core.providers.registry import BUILD_ERRORS, get_provider
from core.settings import get_settings
from core.tasks import TaskName
from publisher.campaigns.models import Campaign, CampaignStatus
from publisher.campaigns.scheduling import local_hour
from publisher.campaigns.service import (
    campaign_review_problem,
    finish_if_done,
    hold_for_review,
    pause_for_failures,
)
from publisher.sending import deliveries
from publisher.sending.messages import CampaignEmails, compile_campaign

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def current_provider() -> Provider:
    """This process's provider (one HTTP client, reused by every batch)."""
    return get_provider(get_settings())


def campaign_provider(campaign_id: int) -> Provider | None:
    """This process's provider; or None, after pausing the campaign with the reason, when the
    settings cannot build it.

    Such a provider fails the same way on every try, so retrying would only raise forever
    while the admin sees 0%: the pause shows the reason on the campaign's page instead.
    """
    try:
        return current_provider()
    except BUILD_ERRORS as error:
        pause_for_broken_provider(campaign_id, str(error))
        return None


def pause_for_broken_provider(campaign_id: int, problem: str) -> None:
    """Pause a sending campaign because this worker's provider cannot be built."""
    log.error("pausing campaign %s: the email provider cannot send: %s", campaign_id, problem)
    with unit_of_work() as session:
        pause_for_failures(session, campaign_id, provider_pause_reason(problem))


def provider_pause_reason(problem: str) -> str:
    """The error a campaign paused for its provider shows the admin."""
    return (
        f"paused: the email provider cannot send: {problem}. "
        "Fix the settings, restart the workers, then resume."
    )


def plan_campaign(campaign_id: int) -> None:
    """Compile the campaign's email, create its deliveries, enqueue its batches."""
    if campaign_provider(campaign_id) is None:
        return
    try:
        _plan(campaign_id)
    except Exception as error:
        log.exception("planning campaign %s failed", campaign_id)
        with unit_of_work() as session:
            campaign = session.get(Campaign, campaign_id)
            if campaign is not None and campaign.status == CampaignStatus.SENDING:
                campaign.status, campaign.error = CampaignStatus.FAILED, f"planning failed: {error}"


def _plan(campaign_id: int) -> None:
    """Snapshot, then deliveries one committed chunk at a time, then the total.

    Each chunk's batches are enqueued with its commit, so sending starts with the first chunk
    instead of after the whole list. The campaign cannot finish before ``planned_at`` is set
    in the last step, and a planner that dies is re-run (every step is idempotent).
    """
    with unit_of_work() as session:
        campaign = _sending(session, campaign_id)
        if campaign is None:
            return
        held = campaign_review_problem(session, campaign_id)
        if held:
            # A post sent back to review (or edited since approval) must not go out.
            hold_for_review(session, campaign_id, held)
            return
        if campaign.compiled is None:
            languages = deliveries.recipient_languages(session, campaign_id)
            campaign.compiled = compile_campaign(session, campaign, languages, get_settings())
        if campaign.local_time:
            # Rows whose local hour has passed leave now; the tick releases the others.
            now = utcnow()
            campaign.released_until = max(campaign.released_until or now, now)
        hours = local_hour(session, campaign)
        chunks = deliveries.plan_chunks(session)
    enqueued = 0
    for low, high in chunks:
        with unit_of_work() as session:
            if session.scalar(select(Campaign.status).where(Campaign.id == campaign_id)) != (
                CampaignStatus.SENDING
            ):
                return  # paused or cancelled meanwhile; a resume plans again
            deliveries.plan_chunk(session, campaign_id, low, high, local_hour=hours)
            enqueued = enqueue_batches(session, campaign_id, after=enqueued)
            # A heartbeat for the lost-plan sweeper, last: senders update this row too.
            session.execute(
                update(Campaign)
                .where(Campaign.id == campaign_id)
                .values(plan_requested_at=utcnow())
            )
    with unit_of_work() as session:
        _finish_plan(session, campaign_id, enqueued)


def _finish_plan(session: Session, campaign_id: int, enqueued: int) -> None:
    campaign = _sending(session, campaign_id)
    if campaign is None:
        return
    campaign.total = deliveries.count_deliveries(session, campaign_id)
    now = utcnow()
    campaign.planned_at = campaign.planned_at or now
    campaign.last_progress_at = now
    enqueue_batches(session, campaign_id, after=enqueued)
    session.flush()
    finish_if_done(session, campaign_id)


def _sending(session: Session, campaign_id: int) -> Campaign | None:
    campaign = session.get(Campaign, campaign_id, with_for_update=True)
    return campaign if campaign is not None and campaign.status == CampaignStatus.SENDING else None


def enqueue_campaign(campaign_id: int) -> None:
    """Enqueue batches for a sending campaign's queued rows (a resume; stale tasks are no-ops)."""
    if campaign_provider(campaign_id) is None:
        return
    with unit_of_work() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is not None and campaign.status == CampaignStatus.SENDING:
            enqueue_batches(session, campaign_id)


def enqueue_batches(
    session: Session,
    campaign_id: int,
    *,
    after: int = 0,
    released_after: datetime | None = None,
) -> int:
    """Enqueue (after commit) one batch task per range of queued, released deliveries above
    ``after`` (only those released after ``released_after``, when given); return the last id
    covered."""
    limit = current_provider().max_batch_size
    size = min(get_settings().batch_size or limit, limit)
    last = after
    ranges = deliveries.queued_ranges(
        session, campaign_id, size, after=after, released_after=released_after
    )
    for first_id, last_id in ranges:
        enqueue_after_commit(session, TaskName.SEND_BATCH, campaign_id, first_id, last_id)
        last = last_id
    return last


_emails_cache: dict[int, CampaignEmails] = {}


def campaign_emails(session: Session, campaign: Campaign) -> CampaignEmails:
    """The campaign's stage-two renderer, parsed from its snapshot once per process."""
    # The snapshot never changes once a campaign sends.
    emails = _emails_cache.get(campaign.id)
    if emails is None:
        if len(_emails_cache) > 16:
            _emails_cache.clear()
        emails = CampaignEmails.for_campaign(session, campaign, get_settings())
        _emails_cache[campaign.id] = emails
    return emails
