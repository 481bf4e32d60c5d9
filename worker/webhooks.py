"""Outgoing webhook delivery: one POST of one stored delivery, and when to try again."""

from __future__ import annotations

import logging

from core.database import unit_of_work, utcnow
from publisher.webhooks import outgoing as webhooks

log = logging.getLogger(__name__)


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
