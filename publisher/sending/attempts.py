"""Attempts: rows claimed for one provider call, and what the call's outcome does to them.

The row is what makes sending exactly-once. A batch is *claimed* (queued → sending, with an
attempt id and a lease) and committed; then, after rendering and pacing, *dispatched*: a
second commit, immediately before the provider call, stamps ``dispatched_at`` on the rows it
is about to send. So a row in ``sending`` without ``dispatched_at`` has certainly not left,
and one with it may have.

When a lease expires, the sweeper puts rows that were never dispatched back in the queue,
whatever stopped their sender. A dispatched attempt is only ever re-sent as itself: replayed
if the provider is idempotent on its key, reconciled with the provider where it can tell
(:mod:`publisher.sending.reconciliation`), else its rows become ``unknown``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    bindparam,
    case,
    func,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from core.database import utcnow
from core.providers.base import SendResult
from publisher.campaigns.models import Campaign, CampaignStatus
from publisher.sending.deliveries import in_range, released
from publisher.sending.models import Delivery, DeliveryStatus
from subscribers.models import Subscriber

REPLAY_WINDOW = timedelta(hours=23)
"""How long after its first try an attempt may be replayed: providers forget idempotency keys
after a day (Resend: 24 hours), and a replay after that would be a second send."""
RECONCILE_WINDOW = timedelta(hours=24)
"""How long a dispatched row waits in ``sending`` for a provider to say whether it got it;
past that (the provider's look-up kept failing) it is ``unknown`` for an admin."""


@dataclass(frozen=True, slots=True)
class SweptLeases:
    """What the sweeper found behind expired leases and left for the caller to enqueue."""

    replays: list[tuple[int, str]]
    """(campaign id, attempt id) of dispatched attempts to replay through an idempotent provider."""
    requeued: list[tuple[int, int, int]]
    """(campaign id, first id, last id) of never-dispatched attempts put back in the queue."""


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery claimed for sending, with what rendering needs of its subscriber."""

    id: int
    subscriber_id: int
    email: str
    name: str
    language: str


def claim_batch(
    session: Session,
    campaign_id: int,
    first_id: int,
    last_id: int,
    *,
    attempt_id: str,
    provider: str,
    lease: timedelta,
) -> list[ClaimedDelivery]:
    """Claim the range's queued rows for this attempt and return them with their subscribers."""
    now = utcnow()
    claimed = session.execute(
        update(Delivery)
        .where(in_range(campaign_id, first_id, last_id), Delivery.status == DeliveryStatus.QUEUED)
        .where(released(campaign_id))  # a local-time row waits for its hour
        .values(
            status=DeliveryStatus.SENDING,
            attempt_id=attempt_id,
            provider=provider,
            lease_until=now + lease,
            dispatched_at=None,  # set by mark_dispatched, just before the provider call
            attempts=Delivery.attempts + 1,
        )
        .returning(Delivery.id, Delivery.subscriber_id)
        .execution_options(synchronize_session=False)
    ).all()
    return _with_subscribers(session, claimed)


def reclaim_attempt(
    session: Session, attempt_id: str, *, lease: timedelta
) -> list[ClaimedDelivery]:
    """Take back the rows of an attempt still in flight (to replay it) with a fresh lease."""
    claimed = session.execute(
        update(Delivery)
        .where(Delivery.attempt_id == attempt_id, Delivery.status == DeliveryStatus.SENDING)
        .values(lease_until=utcnow() + lease, attempts=Delivery.attempts + 1)
        .returning(Delivery.id, Delivery.subscriber_id)
        .execution_options(synchronize_session=False)
    ).all()
    return _with_subscribers(session, claimed)


def mark_dispatched(session: Session, attempt_id: str, *, lease: timedelta) -> set[int]:
    """The dispatched checkpoint: stamp the attempt's rows as about to be sent, renew their
    lease, and return their ids (rows the sweeper took back meanwhile are not among them).

    A replay keeps the first ``dispatched_at``: the replay window counts from the first try.
    """
    now = utcnow()
    marked = session.execute(
        update(Delivery)
        .where(Delivery.attempt_id == attempt_id, Delivery.status == DeliveryStatus.SENDING)
        .values(dispatched_at=func.coalesce(Delivery.dispatched_at, now), lease_until=now + lease)
        .returning(Delivery.id)
        .execution_options(synchronize_session=False)
    ).scalars()
    return set(marked)


def _with_subscribers(session: Session, claimed: Sequence[Any]) -> list[ClaimedDelivery]:
    """The claimed (delivery id, subscriber id) pairs with what rendering needs, by id."""
    if not claimed:
        return []
    delivery_of = {subscriber_id: delivery_id for delivery_id, subscriber_id in claimed}
    rows = session.execute(
        select(Subscriber.id, Subscriber.email, Subscriber.name, Subscriber.language).where(
            Subscriber.id.in_(list(delivery_of))
        )
    ).all()
    found = [ClaimedDelivery(delivery_of[row[0]], *row) for row in rows]
    return sorted(found, key=lambda delivery: delivery.id)


def record_results(
    session: Session, attempt_id: str, results: Sequence[SendResult]
) -> dict[str, int]:
    """Store the provider's answer per delivery of the attempt; return counts per new status.

    Accepted → ``sent``; refused → ``failed``; unknown → ``unknown``; a message that never
    went out (``retry``) goes back to ``queued`` and leaves the attempt.
    """
    statuses = [result_status(result) for result in results]
    if results:
        if session.get_bind().dialect.name == "postgresql":
            _record_in_one_statement(session, attempt_id, results, statuses)
        else:
            _record_row_by_row(session, attempt_id, results, statuses)
    return dict(Counter(statuses))


def result_status(result: SendResult) -> str:
    """The delivery status a provider's answer about one message leads to."""
    if result.accepted:
        return DeliveryStatus.SENT
    if result.unknown:
        return DeliveryStatus.UNKNOWN
    return DeliveryStatus.QUEUED if result.retry else DeliveryStatus.FAILED


# One UPDATE joined to the answers as arrays: the same SQL text for every batch (compiled and
# planned once), four parameters instead of a statement per row.
_RECORD_FROM_ARRAYS = text(
    """
    UPDATE deliveries SET
        status = answers.status,
        provider_message_id = answers.message_id,
        error = answers.error,
        sent_at = CASE WHEN answers.status = 'sent' THEN CAST(:now AS timestamptz) END,
        attempt_id = CASE WHEN answers.status = 'queued' THEN NULL ELSE deliveries.attempt_id END,
        lease_until = NULL
    FROM unnest(
        CAST(:ids AS bigint[]), CAST(:statuses AS varchar[]),
        CAST(:message_ids AS varchar[]), CAST(:errors AS text[])
    ) AS answers (id, status, message_id, error)
    WHERE deliveries.id = answers.id AND deliveries.attempt_id = :attempt_id
    """
)


def _record_in_one_statement(
    session: Session, attempt_id: str, results: Sequence[SendResult], statuses: list[str]
) -> None:
    session.execute(
        _RECORD_FROM_ARRAYS,
        {
            "now": utcnow(),
            "ids": [int(result.key) for result in results],
            "statuses": statuses,
            "message_ids": [result.provider_message_id for result in results],
            "errors": [result.error or "" for result in results],
            "attempt_id": attempt_id,
        },
    )


def _record_row_by_row(
    session: Session, attempt_id: str, results: Sequence[SendResult], statuses: list[str]
) -> None:
    now = utcnow()
    rows = [
        {
            "b_id": int(result.key),
            "b_status": status,
            "b_message_id": result.provider_message_id,
            "b_error": result.error or "",
            "b_sent_at": now if status == DeliveryStatus.SENT else None,
            "b_attempt": None if status == DeliveryStatus.QUEUED else attempt_id,
        }
        for result, status in zip(results, statuses, strict=True)
    ]
    table = cast(Table, Delivery.__table__)
    session.execute(
        update(table)
        .where(table.c.id == bindparam("b_id"), table.c.attempt_id == attempt_id)
        .values(
            status=bindparam("b_status"),
            provider_message_id=bindparam("b_message_id"),
            error=bindparam("b_error"),
            sent_at=bindparam("b_sent_at"),
            attempt_id=bindparam("b_attempt"),
            lease_until=None,
        ),
        rows,
    )


def release_attempt(session: Session, attempt_id: str, *, status: str, error: str = "") -> int:
    """End an attempt whose call failed as a whole: its rows go to queued, failed or unknown.

    Rows going back to the queue of a campaign cancelled meanwhile are cancelled instead.
    """
    values: dict[str, Any] = {"status": status, "lease_until": None, "error": error}
    if status == DeliveryStatus.QUEUED:
        cancelled = select(Campaign.status).where(Campaign.id == Delivery.campaign_id)
        # literal() of the plain value: a str is bound as VARCHAR, an enum member untyped.
        values["status"] = case(
            (
                cancelled.scalar_subquery() == CampaignStatus.CANCELLED,
                literal(DeliveryStatus.CANCELLED.value),
            ),
            else_=literal(DeliveryStatus.QUEUED.value),
        )
        values["attempt_id"] = None
    result = session.execute(
        update(Delivery)
        .where(Delivery.attempt_id == attempt_id, Delivery.status == DeliveryStatus.SENDING)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def hold_for_reconcile(session: Session, attempt_id: str, *, error: str = "") -> int:
    """Keep the attempt's rows of unknown outcome in ``sending`` with an ended lease, for the
    sweeper to ask the provider about once it settled (providers that can be asked only)."""
    values: dict[str, Any] = {"status": DeliveryStatus.SENDING, "lease_until": utcnow()}
    if error:
        values["error"] = error
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.attempt_id == attempt_id,
            Delivery.status.in_((DeliveryStatus.SENDING, DeliveryStatus.UNKNOWN)),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def expire_leases(
    session: Session,
    *,
    now: datetime,
    lease: timedelta,
    idempotent_providers: set[str],
    reconciling_providers: frozenset[str] = frozenset(),
) -> SweptLeases:
    """Resolve rows whose sender stopped, by what their attempt got to do.

    Never dispatched: back to ``queued`` (their ranges returned for enqueueing). Dispatched:
    replayed (same key, same messages) only through an idempotent provider, within
    :data:`REPLAY_WINDOW` of the first try and while the campaign sends (a paused campaign's
    rows wait for the resume; renewed leases make the next sweep wait too); left in
    ``sending`` for reconciliation through a provider in ``reconciling_providers`` within
    :data:`RECONCILE_WINDOW`; else ``unknown``.
    """
    expired = and_(Delivery.status == DeliveryStatus.SENDING, Delivery.lease_until < now)
    requeued = _requeue_undispatched(session, expired)
    expired = and_(expired, Delivery.dispatched_at.is_not(None))
    campaign_status = (
        select(Campaign.status).where(Campaign.id == Delivery.campaign_id).scalar_subquery()
    )
    safe = (
        expired
        & Delivery.provider.in_(sorted(idempotent_providers))
        & (Delivery.dispatched_at > now - REPLAY_WINDOW)
    )
    replay = safe & (campaign_status == CampaignStatus.SENDING)
    attempts = session.execute(
        update(Delivery)
        .where(replay)
        .values(lease_until=now + lease)
        .returning(Delivery.campaign_id, Delivery.attempt_id)
        .execution_options(synchronize_session=False)
    ).all()
    reconciling = Delivery.provider.in_(sorted(reconciling_providers)) & (
        Delivery.dispatched_at > now - RECONCILE_WINDOW
    )
    session.execute(
        update(Delivery)
        .where(expired, ~(safe & (campaign_status == CampaignStatus.PAUSED)), ~reconciling)
        .values(
            status=DeliveryStatus.UNKNOWN,
            lease_until=None,
            error="sender stopped after the request left",
        )
        .execution_options(synchronize_session=False)
    )
    replays = sorted({(campaign_id, str(attempt_id)) for campaign_id, attempt_id in attempts})
    return SweptLeases(replays=replays, requeued=requeued)


def _requeue_undispatched(
    session: Session, expired: ColumnElement[bool]
) -> list[tuple[int, int, int]]:
    """Put expired rows that were never dispatched back in the queue; their attempts' ranges.

    The UPDATE repeats the conditions so that a sender that dispatched meanwhile wins.
    """
    undispatched = and_(expired, Delivery.dispatched_at.is_(None))
    found = session.execute(
        select(Delivery.id, Delivery.campaign_id, Delivery.attempt_id).where(undispatched)
    ).all()
    if not found:
        return []
    ids = [row.id for row in found]
    back = session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids), undispatched)
        .values(**back_in_queue())
        .returning(Delivery.id)
        .execution_options(synchronize_session=False)
    ).scalars()
    return _attempt_ranges(found, set(back))


def back_in_queue() -> dict[str, Any]:
    """The values that return rows to ``queued`` as if never claimed (``cancelled`` once
    their campaign is)."""
    cancelled = select(Campaign.status).where(Campaign.id == Delivery.campaign_id)
    return {
        "status": case(
            (
                cancelled.scalar_subquery() == CampaignStatus.CANCELLED,
                literal(DeliveryStatus.CANCELLED.value),
            ),
            else_=literal(DeliveryStatus.QUEUED.value),
        ),
        "attempt_id": None,
        "lease_until": None,
        "dispatched_at": None,
        "error": "",
    }


def _attempt_ranges(found: Sequence[Any], back: set[int]) -> list[tuple[int, int, int]]:
    """(campaign id, first id, last id) per attempt, over the rows that went back."""
    spans: dict[tuple[int, str], tuple[int, int]] = {}
    for delivery_id, campaign_id, attempt_id in found:
        if delivery_id in back:
            low, high = spans.get((campaign_id, attempt_id), (delivery_id, delivery_id))
            spans[(campaign_id, attempt_id)] = (min(low, delivery_id), max(high, delivery_id))
    return sorted((campaign_id, low, high) for (campaign_id, _), (low, high) in spans.items())
