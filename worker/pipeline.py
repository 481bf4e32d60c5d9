"""The send pipeline's planning: compile a campaign's email, create its deliveries, enqueue
its batches by id range. Sending one batch lives in :mod:`worker.sending`."""

from __future__ import annotations

import logging
from functools import lru_cache

from sqlalchemy.orm import Session

from core.celery_app import enqueue_after_commit
from core.database import unit_of_work, utcnow
from core.providers import get_provider
from core.providers.base import Provider
from core.settings import get_settings
from publisher import deliveries
from publisher.campaigns import campaign_list_ids, finish_if_done
from publisher.emails import CampaignEmails, compile_campaign
from publisher.models import Campaign

SEND_BATCH_TASK = "herald.campaigns.send_batch"
log = logging.getLogger(__name__)


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


def enqueue_campaign(campaign_id: int) -> None:
    """Enqueue batches for a sending campaign's queued rows (a resume; stale tasks are no-ops)."""
    with unit_of_work() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is not None and campaign.status == "sending":
            enqueue_batches(session, campaign_id)


def enqueue_batches(session: Session, campaign_id: int) -> int:
    """Enqueue (after commit) one batch task per range of queued deliveries."""
    limit = current_provider().max_batch_size
    size = min(get_settings().batch_size or limit, limit)
    count = 0
    for first_id, last_id in deliveries.queued_ranges(session, campaign_id, size):
        enqueue_after_commit(session, SEND_BATCH_TASK, campaign_id, first_id, last_id)
        count += 1
    return count


_emails_cache: dict[int, CampaignEmails] = {}


def campaign_emails(session: Session, campaign: Campaign) -> CampaignEmails:
    """The campaign's stage-two renderer, parsed from its snapshot once per process."""
    # The snapshot never changes once a campaign sends.
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
