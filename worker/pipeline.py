"""The send pipeline's flows: plan a campaign, send one batch of it.

Each flow commits at its checkpoints and nowhere else: the claim commit precedes the
provider call (so a row in ``sending`` means the request may have left), and the outcome
commit follows it. A worker killed between the two leaves rows for the sweeper to resolve.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import lru_cache
from uuid import uuid4

from sqlalchemy.orm import Session

from core.celery_app import enqueue_after_commit
from core.database import unit_of_work, utcnow
from core.message import OutgoingMessage
from core.providers import get_provider
from core.providers.base import OutcomeUnknown, Provider, ProviderError
from core.settings import get_settings
from publisher import deliveries
from publisher.campaigns import campaign_list_ids, finish_if_done
from publisher.emails import CampaignEmails, compile_campaign
from publisher.models import Campaign

SEND_BATCH_TASK = "herald.campaigns.send_batch"
log = logging.getLogger(__name__)


class RetryLater(Exception):
    """The batch went back to the queue; try again after ``delay`` seconds (None: backoff)."""

    def __init__(self, delay: float | None) -> None:
        super().__init__(f"retry in {delay}s" if delay else "retry with backoff")
        self.delay = delay


@lru_cache(maxsize=1)
def current_provider() -> Provider:
    """This process's provider (one HTTP client, reused by every batch)."""
    return get_provider(get_settings())


def plan_campaign(campaign_id: int) -> None:
    """Compile the campaign's email, create its deliveries, enqueue its batches."""
    try:
        with unit_of_work() as session:
            _plan(session, campaign_id)
    except Exception as error:
        log.exception("planning campaign %s failed", campaign_id)
        with unit_of_work() as session:
            campaign = session.get(Campaign, campaign_id)
            if campaign is not None and campaign.status == "sending":
                campaign.status, campaign.error = "failed", f"planning failed: {error}"


def _plan(session: Session, campaign_id: int) -> None:
    campaign = session.get(Campaign, campaign_id, with_for_update=True)
    if campaign is None or campaign.status != "sending":
        return
    campaign.total = deliveries.plan_deliveries(session, campaign_id)
    if campaign.compiled is None:
        languages = deliveries.recipient_languages(session, campaign_id)
        campaign.compiled = compile_campaign(session, campaign, languages, get_settings())
    now = utcnow()
    campaign.planned_at = campaign.planned_at or now
    campaign.last_progress_at = now
    enqueue_batches(session, campaign_id)
    session.flush()
    finish_if_done(session, campaign_id)


def enqueue_batches(session: Session, campaign_id: int) -> int:
    """Enqueue (after commit) one batch task per range of queued deliveries."""
    limit = current_provider().max_batch_size
    size = min(get_settings().batch_size or limit, limit)
    count = 0
    for first_id, last_id in deliveries.queued_ranges(session, campaign_id, size):
        enqueue_after_commit(session, SEND_BATCH_TASK, campaign_id, first_id, last_id)
        count += 1
    return count


def send_batch(campaign_id: int, first_id: int, last_id: int) -> None:
    """Claim, render and send one range of a campaign's deliveries, then record the outcome."""
    provider = current_provider()
    attempt_id = uuid4().hex
    messages = _claim_and_render(campaign_id, first_id, last_id, attempt_id, provider)
    if messages is None:
        return
    if not messages:
        with unit_of_work() as session:
            finish_if_done(session, campaign_id)
        return
    try:
        results = provider.send_batch(messages)
    except ProviderError as error:
        _end_attempt(attempt_id, "queued" if error.retryable else "failed", str(error))
        if error.retryable:
            raise RetryLater(error.retry_after) from error
        return
    except OutcomeUnknown as error:
        _end_attempt(attempt_id, "queued" if provider.idempotent else "unknown", str(error))
        if provider.idempotent:
            raise RetryLater(None) from error
        return
    with unit_of_work() as session:
        deliveries.record_results(session, results)
        deliveries.touch_progress(session, campaign_id)
        session.flush()
        finish_if_done(session, campaign_id)


def _claim_and_render(
    campaign_id: int, first_id: int, last_id: int, attempt_id: str, provider: Provider
) -> list[OutgoingMessage] | None:
    """Checkpoint one: the claimed rows and their messages (None: campaign not sending)."""
    with unit_of_work() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None or campaign.status != "sending" or campaign.compiled is None:
            return None
        deliveries.skip_ineligible(session, campaign_id, first_id, last_id)
        claimed = deliveries.claim_batch(
            session,
            campaign_id,
            first_id,
            last_id,
            attempt_id=attempt_id,
            provider=provider.name,
            lease=timedelta(seconds=get_settings().lease_seconds),
        )
        emails = _campaign_emails(session, campaign)
        return [emails.message_for(delivery) for delivery in claimed]


_emails_cache: dict[int, CampaignEmails] = {}


def _campaign_emails(session: Session, campaign: Campaign) -> CampaignEmails:
    # The snapshot never changes once a campaign sends: parse it once per process.
    emails = _emails_cache.get(campaign.id)
    if emails is None:
        if len(_emails_cache) > 16:
            _emails_cache.clear()
        assert campaign.compiled is not None
        emails = CampaignEmails(
            campaign.id,
            campaign.compiled,
            campaign_list_ids(session, campaign.id),
            get_settings(),
        )
        _emails_cache[campaign.id] = emails
    return emails


def _end_attempt(attempt_id: str, status: str, error: str) -> None:
    with unit_of_work() as session:
        deliveries.release_attempt(session, attempt_id, status=status, error=error)
