"""The sweeper's reconciliation: ask the provider about dispatched rows whose answer never came.

Runs in the scheduler tick, outside any transaction while it waits on the provider: the rows
in doubt are read in one unit of work, looked up, and settled in another, each settlement
guarded by the row still being in doubt. Providers without a look-up are never asked; their
rows are ``unknown`` already.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from core.database import unit_of_work, utcnow
from core.providers.base import ProviderError, Reconciling
from core.settings import get_settings
from publisher.sending import reconciliation
from worker import planning
from worker.planning import enqueue_batches

log = logging.getLogger(__name__)

LOOKUPS_PER_TICK = 500
"""At most this many look-ups per tick (one provider request each): a tick stays short."""


def reconcile_in_doubt() -> reconciliation.Reconciled | None:
    """Settle what this sweep can of the rows in doubt; None when the provider cannot tell."""
    provider = planning.current_provider()  # looked up here: tests replace it
    if not isinstance(provider, Reconciling):
        return None
    now = utcnow()
    with unit_of_work() as session:
        in_doubt = reconciliation.awaiting_reconcile(
            session, provider=provider.name, now=now, settle=settle_window(), limit=LOOKUPS_PER_TICK
        )
    if not in_doubt:
        return reconciliation.Reconciled()
    try:
        sightings = provider.reconcile(in_doubt)
    except ProviderError as error:
        log.warning(
            "could not reconcile %d deliveries with %s: %s", len(in_doubt), provider.name, error
        )
        return reconciliation.Reconciled()
    with unit_of_work() as session:
        done = reconciliation.apply_sightings(session, sightings, provider=provider.name, now=now)
        for campaign_id in sorted({campaign_id for campaign_id, _ in done.requeued}):
            enqueue_batches(session, campaign_id)
    unanswered = len(in_doubt) - len(sightings)
    log.info(
        "reconciled with %s: %d sent, %d never seen (queued again), %d in doubt still",
        provider.name,
        done.sent,
        len(done.requeued),
        unanswered,
    )
    return done


def settle_window() -> timedelta:
    """How old a dispatch must be before the provider is asked: the setting, and never less
    than the provider timeout (an answer may still be on its way until then)."""
    settings = get_settings()
    return timedelta(
        seconds=max(settings.reconcile_settle_seconds, settings.provider_timeout_seconds)
    )
