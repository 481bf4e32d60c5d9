"""The scheduler's periodic work, one short tick: due campaigns, recurring digests, rows
whose local hour has come, and sweeps of stuck work.

Every step is idempotent and safe to run on several workers at once; a tick that dies
half-way leaves the rest to the next one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from core.activity import prune_activity
from core.celery_app import enqueue_after_commit
from core.database import unit_of_work, utcnow
from core.providers.base import can_reconcile
from core.providers.registry import BUILD_ERRORS
from core.ratelimit import forget_idle_buckets
from core.retention import BATCH, cutoff
from core.settings import get_settings
from core.tasks import TaskName
from publisher.accounts.sessions import forget_expired_sessions
from publisher.campaigns import queries as campaign_queries
from publisher.campaigns import scheduling
from publisher.campaigns import service as campaigns
from publisher.campaigns import sweeps as campaign_sweeps
from publisher.campaigns.digests import run_due_digests
from publisher.sending import attempts
from publisher.stats import cursors, health, lists
from publisher.tracking.retention import prune_events
from publisher.webhooks import outgoing as webhooks
from publisher.webhooks.retention import prune_deliveries
from subscribers.import_retention import prune_rejections
from worker import planning
from worker.planning import enqueue_batches
from worker.reconcile import reconcile_in_doubt

log = logging.getLogger(__name__)


def tick(*, now: datetime | None = None) -> None:
    """Start due campaigns and digests, release local-hour rows, recover lost work, close
    finished campaigns (``now``: the clock, for tests)."""
    now = now or utcnow()
    run_digests(now)
    start_due(now)
    recover_lost_plans()
    if provider_can_send():
        release_local_hours(now)
        resolve_expired_leases()
        reconcile_in_doubt()
        resume_stalled()
    finish_done()


def provider_can_send() -> bool:
    """Whether this process's provider can be built; if not, every sending campaign is
    paused with the reason, and the sweeps that need the provider wait for a fixed one."""
    try:
        planning.current_provider()
    except BUILD_ERRORS as error:
        with unit_of_work() as session:
            sending = campaign_queries.sending_campaign_ids(session)
        for campaign_id in sending:
            planning.pause_for_broken_provider(campaign_id, str(error))
        return False
    return True


PRUNE_BATCHES = 200
"""At most this many batches per table and run (a million rows of each an hour at the
default batch): a first run on years of rows spreads over hours instead of one long task."""

Prune = Callable[[Session, datetime, int], int]


def housekeeping(*, now: datetime | None = None, batch: int = BATCH) -> dict[str, int]:
    """Hourly: forget idle rate-limit buckets and expired login sessions, prune
    provider-health minutes past 30 days, and rows past their retention; how many of each
    were pruned."""
    with unit_of_work() as session:
        forget_idle_buckets(session)
        forget_expired_sessions(session)
        health.prune_minutes(session)
    return prune_retained(now=now or utcnow(), batch=batch)


def prune_retained(*, now: datetime, batch: int = BATCH) -> dict[str, int]:
    """Delete what each retention setting no longer keeps, a batch per unit of work."""
    settings = get_settings()
    rules: dict[str, tuple[int, Prune]] = {
        "events": (settings.retention_events_days, _events),
        "activity": (settings.retention_activity_days, _activity),
        "webhook_deliveries": (settings.retention_webhook_deliveries_days, _webhook_deliveries),
        "import_rejections": (settings.retention_import_rejections_days, _rejections),
    }
    pruned = dict.fromkeys(rules, 0)
    for name, (days, prune) in rules.items():
        before = cutoff(days, now=now)
        if before is None:
            continue  # kept forever
        for _ in range(PRUNE_BATCHES):
            with unit_of_work() as session:  # committed per batch: locks held briefly
                deleted = prune(session, before, batch)
            pruned[name] += deleted
            if deleted < batch:
                break
    if any(pruned.values()):
        log.info("retention pruned %s", ", ".join(f"{n} {k}" for k, n in pruned.items() if n))
    return pruned


def _events(session: Session, before: datetime, batch: int) -> int:
    return prune_events(session, before=before, limit=batch)


def _activity(session: Session, before: datetime, batch: int) -> int:
    applied = cursors.applied_by_all(session, (lists.CURSOR, webhooks.CURSOR))
    return prune_activity(session, before=before, applied_up_to=applied, limit=batch)


def _webhook_deliveries(session: Session, before: datetime, batch: int) -> int:
    return prune_deliveries(session, before=before, limit=batch)


def _rejections(session: Session, before: datetime, batch: int) -> int:
    return prune_rejections(session, before=before, limit=batch)


def run_digests(now: datetime) -> None:
    """Turn the recurring digests that are due into digest campaigns (or skip empty ones)."""
    with unit_of_work() as session:
        run_due_digests(session, now=now)


def start_due(now: datetime | None = None) -> None:
    """Start every scheduled campaign whose time has come."""
    with unit_of_work() as session:
        campaigns.start_due_campaigns(session, now=now or utcnow())


def release_local_hours(now: datetime) -> None:
    """Enqueue the deliveries of local-time campaigns whose recipients' hour has come."""
    with unit_of_work() as session:
        for campaign_id, before in scheduling.release_due(session, now=now):
            enqueue_batches(session, campaign_id, released_after=before)


def recover_lost_plans() -> None:
    """Re-enqueue planning for campaigns whose plan task never ran (planning is idempotent)."""
    before = utcnow() - timedelta(seconds=get_settings().stall_seconds)
    with unit_of_work() as session:
        for campaign_id in campaign_sweeps.campaigns_awaiting_plan(
            session, requested_before=before
        ):
            enqueue_after_commit(session, TaskName.PLAN, campaign_id)


def resolve_expired_leases() -> None:
    """Rows whose sender died: never dispatched, back to the queue (and their batches again);
    dispatched, replayed where the provider is idempotent, left for reconciliation where it
    can be asked, else marked unknown."""
    provider = planning.current_provider()  # looked up here: tests replace it
    safe = {provider.name} if provider.idempotent else set()
    asked = frozenset({provider.name} if can_reconcile(provider) else ())
    lease = timedelta(seconds=get_settings().lease_seconds)
    with unit_of_work() as session:
        swept = attempts.expire_leases(
            session,
            now=utcnow(),
            lease=lease,
            idempotent_providers=safe,
            reconciling_providers=asked,
        )
        for campaign_id, attempt_id in swept.replays:
            enqueue_after_commit(session, TaskName.REPLAY_ATTEMPT, campaign_id, attempt_id)
        for campaign_id, first_id, last_id in swept.requeued:
            enqueue_after_commit(session, TaskName.SEND_BATCH, campaign_id, first_id, last_id)


def resume_stalled() -> None:
    """Re-enqueue the queued rows of campaigns that stopped progressing (batch tasks lost)."""
    before = utcnow() - timedelta(seconds=get_settings().stall_seconds)
    with unit_of_work() as session:
        for campaign_id in campaign_sweeps.stalled_campaigns(session, progress_before=before):
            enqueue_batches(session, campaign_id)


def finish_done() -> None:
    """Close sending campaigns that have nothing left queued or in flight."""
    with unit_of_work() as session:
        for campaign_id in campaign_queries.sending_campaign_ids(session):
            campaigns.finish_if_done(session, campaign_id)
