"""Campaign mail outside the send pipeline: test sends of a campaign to given addresses."""

from __future__ import annotations

import logging

from core.database import unit_of_work
from core.settings import get_settings
from publisher.campaigns.models import Campaign
from publisher.campaigns.proofs import proof_messages
from worker.planning import current_provider

log = logging.getLogger(__name__)


def send_test(campaign_id: int, addresses: list[str]) -> int:
    """Render and send the campaign's test messages at once; return how many were accepted."""
    with unit_of_work() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            return 0
        messages = proof_messages(session, campaign, addresses, get_settings())
    results = current_provider().send_batch(messages, attempt_key=messages[0].key)
    for result in results:
        if not result.accepted:
            log.warning("test send of campaign %s refused: %s", campaign_id, result.error)
    return sum(result.accepted for result in results)
