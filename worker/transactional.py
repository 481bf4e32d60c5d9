"""Transactional mail tasks: confirmations and welcomes, a chunk of subscriber ids each.

Each task reads what is still due (a confirmation only while its subscription waits, a
welcome only while it stands, neither to a suppressed or blocked address), renders it,
and sends it at once in the provider's batch size, paced by the provider's shared rate
limit. Refusals that may pass (429, 5xx, a connection that never opened) retry the task
for the ids not yet accepted; a message whose answer never came counts as sent (a second
confirmation would be harmless, but a guess is not worth it). Confirmations sent are noted
so the subscribe form spaces out resends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from uuid import uuid4

from core.database import unit_of_work
from core.message import OutgoingMessage
from core.providers.base import OutcomeUnknown, ProviderError
from core.providers.registry import BUILD_ERRORS
from core.ratelimit import STORE_ERRORS, RateLimited, RateLimiter, get_rate_limiter
from core.settings import Settings, get_settings
from subscribers import consent
from subscribers.consent import Notice
from subscribers.notices import confirmation_message, welcome_message
from worker import planning

log = logging.getLogger(__name__)
PACE_MAX_WAIT_SECONDS = 2.0

Build = Callable[[Notice, Settings], OutgoingMessage]


class SendLater(Exception):
    """Some messages could not go yet: retry for ``subscriber_ids`` after ``delay`` seconds."""

    def __init__(self, subscriber_ids: list[int], delay: float | None) -> None:
        super().__init__(f"{len(subscriber_ids)} messages to retry")
        self.subscriber_ids = subscriber_ids
        self.delay = delay


def deliver_confirmations(list_id: int, subscriber_ids: Sequence[int]) -> None:
    """Send the confirmation emails still due for these subscribers of the list."""
    with unit_of_work() as session:
        due = consent.confirmations_due(session, list_id=list_id, subscriber_ids=subscriber_ids)
    sent, later = _send(due, confirmation_message)
    if sent:
        with unit_of_work() as session:
            consent.mark_confirmations_sent(session, list_id=list_id, subscriber_ids=sent)
    if later is not None:
        raise later


def deliver_welcomes(list_id: int, subscriber_ids: Sequence[int]) -> None:
    """Send the list's welcome email to these subscribers, where still due."""
    with unit_of_work() as session:
        due = consent.welcomes_due(session, list_id=list_id, subscriber_ids=subscriber_ids)
    _, later = _send(due, welcome_message)
    if later is not None:
        raise later


def _send(notices: list[Notice], build: Build) -> tuple[list[int], SendLater | None]:
    """Send in provider-sized batches; the ids sent, and what to retry (if anything)."""
    if not notices:
        return [], None
    try:
        provider = planning.current_provider()
    except BUILD_ERRORS as error:
        # Settings that cannot build the provider: the messages wait for a retry with the
        # reason logged, rather than the task failing and the confirmations with it.
        log.error("transactional mail waits: the email provider cannot send: %s", error)
        return [], SendLater([notice.subscriber_id for notice in notices], None)
    settings = get_settings()
    limiter = get_rate_limiter(settings)
    size = provider.max_batch_size
    sent: list[int] = []
    for start in range(0, len(notices), size):
        batch = notices[start : start + size]
        rest = [notice.subscriber_id for notice in notices[start:]]
        try:
            limiter.wait_and_acquire(provider.name, len(batch), max_wait=PACE_MAX_WAIT_SECONDS)
            results = provider.send_batch(
                [build(n, settings) for n in batch], attempt_key=uuid4().hex
            )
        except RateLimited as limited:
            return sent, SendLater(rest, limited.wait_seconds)
        except ProviderError as error:
            if error.throttled:
                _block(limiter, provider.name, error.retry_after or 1.0)
            if error.retryable:
                return sent, SendLater(rest, error.retry_after)
            log.error("transactional batch refused for good: %s", error)
            continue
        except OutcomeUnknown as error:
            log.warning("transactional batch may have gone out: %s", error)
            sent += [notice.subscriber_id for notice in batch]
            continue
        sent += [
            n.subscriber_id for n, r in zip(batch, results, strict=True) if r.accepted or r.unknown
        ]
        retry = [n.subscriber_id for n, r in zip(batch, results, strict=True) if r.retry]
        if retry:
            return sent, SendLater(retry + rest[len(batch) :], None)
    return sent, None


def _block(limiter: RateLimiter, provider: str, seconds: float) -> None:
    """Share a 429 with every worker; a limiter that cannot be reached only loses the hint."""
    try:
        limiter.block(provider, seconds)
    except STORE_ERRORS as error:
        log.warning("could not share %s's 429 with other workers: %r", provider, error)
