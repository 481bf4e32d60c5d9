"""Provider health: each provider call counted per minute, and the warnings admins must see.

The send pipeline records every batch call with :func:`record_call` in the batch's own unit
of work: one upsert adds to the call's minute and to the provider's running totals (the row
at :data:`ALL_TIME`), so /metrics reads counters without summing history. Deferrals are
added per minute as provider events arrive (:mod:`publisher.stats.aggregates`).

Mailbox providers start filtering a sender whose complaints pass 0.1% of delivered messages
or whose bounces pass 2% of sent ones: :func:`warnings_for` says so in words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core.database import utcnow
from publisher.stats.aggregates import minute_of
from publisher.stats.counting import add_counts
from publisher.stats.models import ProviderMinute

ALL_TIME = datetime(1970, 1, 1, tzinfo=UTC)
"""The ``minute`` of each provider's running-totals row."""
COMPLAINT_LIMIT = 0.001
BOUNCE_LIMIT = 0.02


@dataclass(frozen=True, slots=True)
class ProviderCall:
    """One batch call to a provider, as the pipeline saw it."""

    provider: str
    messages: int
    accepted: int
    latency_ms: int
    error: bool = False
    throttled: bool = False


def record_call(session: Session, call: ProviderCall, *, at: datetime | None = None) -> None:
    """Add one call to its minute and to the provider's totals (one statement)."""
    counts = {
        "requests": 1,
        "messages": call.messages,
        "accepted": call.accepted,
        "errors": int(call.error),
        "throttled": int(call.throttled),
        "deferrals": 0,
        "latency_ms_sum": call.latency_ms,
        "latency_ms_max": call.latency_ms,
    }
    minute = minute_of(at or utcnow())
    rows = [
        {"provider": call.provider, "minute": minute, **counts},
        {"provider": call.provider, "minute": ALL_TIME, **counts},
    ]
    add_counts(
        session, ProviderMinute, rows, keys=["provider", "minute"], maxima=["latency_ms_max"]
    )


class ProviderPoint(BaseModel):
    """One provider's figures over one time bucket."""

    provider: str
    at: datetime
    requests: int
    messages: int
    accepted: int
    errors: int
    throttled: int
    deferrals: int
    latency_ms_avg: float
    latency_ms_max: int


def prune_minutes(session: Session, *, keep_days: int = 30, now: datetime | None = None) -> int:
    """Delete minute rows older than ``keep_days`` (never the running totals); how many."""
    cutoff = minute_of((now or utcnow()) - timedelta(days=keep_days))
    result = session.execute(
        delete(ProviderMinute).where(
            ProviderMinute.minute < cutoff, ProviderMinute.minute != ALL_TIME
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def provider_series(
    session: Session, *, hours: int = 24, bucket_minutes: int = 60, now: datetime | None = None
) -> list[ProviderPoint]:
    """Each provider's figures per bucket over the last ``hours`` (from the minute rows)."""
    since = minute_of((now or utcnow()) - timedelta(hours=hours))
    rows = session.execute(
        select(ProviderMinute).where(ProviderMinute.minute >= since).order_by(ProviderMinute.minute)
    ).scalars()
    buckets: dict[tuple[str, datetime], list[ProviderMinute]] = {}
    for row in rows:
        start = row.minute - timedelta(minutes=_minute_of_day(row.minute) % bucket_minutes)
        buckets.setdefault((row.provider, start), []).append(row)
    return [_point(provider, at, group) for (provider, at), group in sorted(buckets.items())]


def _minute_of_day(moment: datetime) -> int:
    return moment.hour * 60 + moment.minute


def _point(provider: str, at: datetime, rows: list[ProviderMinute]) -> ProviderPoint:
    requests = sum(r.requests for r in rows)
    return ProviderPoint(
        provider=provider,
        at=at,
        requests=requests,
        messages=sum(r.messages for r in rows),
        accepted=sum(r.accepted for r in rows),
        errors=sum(r.errors for r in rows),
        throttled=sum(r.throttled for r in rows),
        deferrals=sum(r.deferrals for r in rows),
        latency_ms_avg=round(sum(r.latency_ms_sum for r in rows) / requests, 1) if requests else 0,
        latency_ms_max=max(r.latency_ms_max for r in rows),
    )


def provider_totals(session: Session) -> list[ProviderMinute]:
    """Each provider's running totals since Herald started counting."""
    return list(
        session.scalars(
            select(ProviderMinute)
            .where(ProviderMinute.minute == ALL_TIME)
            .order_by(ProviderMinute.provider)
        )
    )


def recent_accepted(session: Session, *, seconds: int = 60, now: datetime | None = None) -> int:
    """Messages providers accepted over the last whole minutes covering ``seconds``."""
    since = minute_of((now or utcnow()) - timedelta(seconds=seconds))
    total = session.scalar(
        select(func.coalesce(func.sum(ProviderMinute.accepted), 0)).where(
            ProviderMinute.minute >= since
        )
    )
    return int(total or 0)


def warnings_for(*, delivered: int, sent: int, complained: int, bounced: int) -> list[str]:
    """Plain-language warnings when complaints or bounces pass the mailbox providers' lines."""
    found = []
    if delivered and complained / delivered > COMPLAINT_LIMIT:
        rate = 100 * complained / delivered
        found.append(
            f"Complaint rate {rate:.2f}% is above 0.1%: mailbox providers start filtering "
            "or blocking senders past this line."
        )
    if sent and bounced / sent > BOUNCE_LIMIT:
        found.append(
            f"Bounce rate {100 * bounced / sent:.2f}% is above 2%: clean the list "
            "(old or bought addresses) before the next send."
        )
    return found
