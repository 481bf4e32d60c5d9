"""Sending one batch: claim, render, pace, dispatch, one provider call, record; and replays.

Each flow commits at its checkpoints and nowhere else: the claim; the *dispatched* mark,
immediately before the provider call (so only a dispatched row may have left); the outcome.
A worker killed anywhere leaves rows for the sweeper: those never dispatched go back to the
queue, the others are replayed, reconciled with the provider, or marked ``unknown``.

An attempt, once dispatched, is only ever re-sent as itself: the same rows, the same rendered
messages, the same key. Through an idempotent provider that makes a retry after a crash or a
timeout harmless; through one that can be asked (:mod:`worker.reconcile`) the sweeper asks it;
through any other, rows whose outcome is unknown stay ``unknown``.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from uuid import uuid4

from sqlalchemy.orm import Session

from core.database import unit_of_work
from core.message import OutgoingMessage
from core.providers.base import OutcomeUnknown, Provider, ProviderError, can_reconcile
from core.ratelimit import STORE_ERRORS, RateLimited, get_rate_limiter
from core.settings import get_settings
from publisher.campaigns import service as campaigns
from publisher.campaigns.models import Campaign, CampaignStatus
from publisher.sending import attempts, deliveries
from publisher.sending.attempts import ClaimedDelivery
from publisher.sending.models import DeliveryStatus
from publisher.stats import health
from worker import planning

log = logging.getLogger(__name__)

PACE_MAX_WAIT_SECONDS = 2.0
"""Longer waits for the rate limit go back to the broker instead of holding a worker."""


class RetryLater(Exception):
    """The batch went back to the queue; try again after ``delay`` seconds (None: backoff)."""

    def __init__(self, delay: float | None) -> None:
        super().__init__(f"retry in {delay}s" if delay else "retry with backoff")
        self.delay = delay


class ReplayLater(RetryLater):
    """The attempt stays claimed; replay it (same key) after ``delay`` seconds."""

    def __init__(self, attempt_id: str, delay: float | None) -> None:
        super().__init__(delay)
        self.attempt_id = attempt_id


def send_batch(campaign_id: int, first_id: int, last_id: int) -> None:
    """Claim, render and send one range of a campaign's deliveries, then record the outcome."""
    provider = planning.campaign_provider(campaign_id)
    if provider is None:
        return  # paused with the reason; a resume enqueues the range again
    attempt_id = uuid4().hex
    with unit_of_work() as session:
        campaign = session.get(Campaign, campaign_id)
        if (
            campaign is None
            or campaign.status != CampaignStatus.SENDING
            or campaign.compiled is None
        ):
            return
        deliveries.skip_ineligible(session, campaign_id, first_id, last_id)
        claimed = attempts.claim_batch(
            session,
            campaign_id,
            first_id,
            last_id,
            attempt_id=attempt_id,
            provider=provider.name,
            lease=_lease(),
        )
        if not claimed:
            campaigns.finish_if_done(session, campaign_id)
            return
        messages = _render(session, campaign, claimed, attempt_id)
    _pace(provider, attempt_id, len(messages), replay=False)
    _send(campaign_id, attempt_id, _dispatch(attempt_id, messages), provider, replay=False)


def replay_attempt(campaign_id: int, attempt_id: str) -> None:
    """Send an attempt whose outcome is unknown again, as itself (idempotent providers only)."""
    provider = planning.campaign_provider(campaign_id)
    if provider is None:
        return  # paused; the rows keep their lease and the sweeper resolves them after a resume
    with unit_of_work() as session:
        campaign = session.get(Campaign, campaign_id)
        if (
            campaign is None
            or campaign.status != CampaignStatus.SENDING
            or campaign.compiled is None
        ):
            return  # the sweeper resolves the rows once the campaign sends again, or ends
        if not provider.idempotent:
            attempts.release_attempt(
                session,
                attempt_id,
                status=DeliveryStatus.UNKNOWN,
                error="cannot be replayed safely",
            )
            return
        claimed = attempts.reclaim_attempt(session, attempt_id, lease=_lease())
        if not claimed:
            return
        # The same attempt id as the first try: the replay carries the same Message-IDs.
        messages = _render(session, campaign, claimed, attempt_id)
    _pace(provider, attempt_id, len(messages), replay=True)
    _send(campaign_id, attempt_id, _dispatch(attempt_id, messages), provider, replay=True)


def _lease() -> timedelta:
    return timedelta(seconds=get_settings().lease_seconds)


def _render(
    session: Session, campaign: Campaign, claimed: list[ClaimedDelivery], attempt_id: str
) -> list[OutgoingMessage]:
    emails = planning.campaign_emails(session, campaign)
    return [emails.message_for(delivery, attempt_id=attempt_id) for delivery in claimed]


def _pace(provider: Provider, attempt_id: str, count: int, *, replay: bool) -> None:
    """Take ``count`` tokens of the provider's shared rate; a long wait goes back to the broker.

    So does a limiter that cannot be reached (:class:`~core.ratelimit.LimiterUnavailable`):
    the batch is put back and retried with backoff, never failed and never sent unpaced.
    """
    try:
        get_rate_limiter(get_settings()).wait_and_acquire(
            provider.name, count, max_wait=PACE_MAX_WAIT_SECONDS
        )
    except RateLimited as limited:
        delay = limited.wait_seconds or None
        if replay:
            raise ReplayLater(attempt_id, delay) from limited
        # Nothing of this attempt was dispatched yet, whatever the provider: back to the queue.
        # Should this commit fail too, the sweeper does the same once the lease ends.
        _end_attempt(attempt_id, DeliveryStatus.QUEUED, "")
        raise RetryLater(delay) from limited


def _dispatch(attempt_id: str, messages: list[OutgoingMessage]) -> list[OutgoingMessage]:
    """Commit the dispatched checkpoint; the messages whose rows are still this attempt's."""
    with unit_of_work() as session:
        marked = attempts.mark_dispatched(session, attempt_id, lease=_lease())
    return [message for message in messages if int(message.key) in marked]


def _send(
    campaign_id: int,
    attempt_id: str,
    messages: list[OutgoingMessage],
    provider: Provider,
    *,
    replay: bool,
) -> None:
    """One provider call for the attempt, and what its outcome means for the rows."""
    if not messages:
        return  # the sweeper took the rows back before the checkpoint: nothing left to send
    started = time.perf_counter()
    try:
        results = provider.send_batch(messages, attempt_key=attempt_id)
    except ProviderError as error:
        _record_failed_call(provider, len(messages), started, throttled=error.throttled)
        _after_refusal(campaign_id, attempt_id, provider, error, replay=replay)
        return
    except OutcomeUnknown as error:
        _record_failed_call(provider, len(messages), started, throttled=False)
        _after_silence(campaign_id, attempt_id, provider, error)
        return
    latency_ms = _ms_since(started)
    with unit_of_work() as session:
        outcome = attempts.record_results(session, attempt_id, results)
        if outcome.get(DeliveryStatus.UNKNOWN) and can_reconcile(provider):
            attempts.hold_for_reconcile(session, attempt_id)
        health.record_call(
            session,
            health.ProviderCall(
                provider.name, len(messages), outcome.get(DeliveryStatus.SENT, 0), latency_ms
            ),
        )
        deliveries.touch_progress(session, campaign_id)
        session.flush()
        campaigns.finish_if_done(session, campaign_id)
    if outcome.get(DeliveryStatus.QUEUED):
        raise RetryLater(None)  # messages the provider never got: this range again, later


def _ms_since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def _record_failed_call(
    provider: Provider, messages: int, started: float, *, throttled: bool
) -> None:
    """Provider health: a call that failed as a whole (statistics only, its own commit)."""
    call = health.ProviderCall(
        provider.name, messages, 0, _ms_since(started), error=True, throttled=throttled
    )
    with unit_of_work() as session:
        health.record_call(session, call)


def _after_refusal(
    campaign_id: int, attempt_id: str, provider: Provider, error: ProviderError, *, replay: bool
) -> None:
    """The call failed as a whole: slow everyone on a 429, retry what may succeed later."""
    if error.throttled:
        _block(provider, error.retry_after or 1.0)
    elif error.retry_after is None:  # a provider's "come back in a second" is no failure
        _count_failure(campaign_id, str(error))
    if error.retryable and (replay or provider.idempotent):
        # A replay must stay itself: an earlier try of this attempt may have been accepted.
        raise ReplayLater(attempt_id, error.retry_after)
    _end_attempt(
        attempt_id, DeliveryStatus.QUEUED if error.retryable else DeliveryStatus.FAILED, str(error)
    )
    if error.retryable:
        raise RetryLater(error.retry_after)


def _after_silence(
    campaign_id: int, attempt_id: str, provider: Provider, error: OutcomeUnknown
) -> None:
    """No answer after the request left: replay through an idempotent provider, else unknown."""
    _count_failure(campaign_id, str(error))
    if provider.idempotent and error.resendable:
        raise ReplayLater(attempt_id, None)
    if can_reconcile(provider):
        with unit_of_work() as session:  # the sweeper asks the provider once it settled
            attempts.hold_for_reconcile(session, attempt_id, error=str(error))
        return
    _end_attempt(attempt_id, DeliveryStatus.UNKNOWN, str(error))


def _block(provider: Provider, seconds: float) -> None:
    """Slow every worker after a 429; a limiter that cannot be reached only loses the hint."""
    try:
        get_rate_limiter(get_settings()).block(provider.name, seconds)
    except STORE_ERRORS as error:
        log.warning("could not share %s's 429 with other workers: %r", provider.name, error)


def _count_failure(campaign_id: int, reason: str) -> None:
    """One more batch failed in a row; too many pause the campaign for an admin to look."""
    limit = get_settings().pause_after_failures
    with unit_of_work() as session:
        failures = deliveries.count_failed_batch(session, campaign_id)
        if failures >= limit:
            log.warning("pausing campaign %s after %s failed batches", campaign_id, failures)
            campaigns.pause_for_failures(
                session, campaign_id, f"paused after {failures} failed batches in a row: {reason}"
            )


def _end_attempt(attempt_id: str, status: str, error: str) -> None:
    with unit_of_work() as session:
        attempts.release_attempt(session, attempt_id, status=status, error=error)
