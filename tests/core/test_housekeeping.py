"""The hourly housekeeping: idle rate-limit buckets, expired login sessions and old
provider-health minutes go, while live buckets, blocked providers, current sessions and the
running totals stay (SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import select

from core.database import unit_of_work, utcnow
from core.ratelimit import ProviderRateLimit
from publisher.accounts.models import UserSession
from publisher.stats.health import ALL_TIME, ProviderCall, record_call
from publisher.stats.models import ProviderMinute
from tests.fixtures.factories import add_user
from worker import scheduled

DAY = 86_400.0
DAYS = timedelta(days=2)


def test_housekeeping_forgets_only_what_is_idle_expired_or_old(db: str) -> None:
    now = time.time()
    with unit_of_work() as session:
        session.add_all(
            [
                ProviderRateLimit(provider="subscribe:idle", tokens=1, refilled_at=now - 2 * DAY),
                ProviderRateLimit(provider="subscribe:live", tokens=1, refilled_at=now - 60),
                ProviderRateLimit(
                    provider="postmark",
                    tokens=0,
                    refilled_at=now - 2 * DAY,
                    blocked_until=now + 600,
                ),
            ]
        )
        call = ProviderCall("postmark", messages=500, accepted=500, latency_ms=80)
        record_call(session, call, at=utcnow() - timedelta(days=40))
        record_call(session, call, at=utcnow() - timedelta(minutes=5))
        admin = add_user(session)
        for name, expires in (("old", utcnow() - timedelta(hours=1)), ("new", utcnow() + DAYS)):
            session.add(
                UserSession(token_hash=name, user_id=admin.id, csrf_token="x", expires_at=expires)
            )
    scheduled.housekeeping()
    with unit_of_work() as session:
        buckets = set(session.scalars(select(ProviderRateLimit.provider)))
        minutes = session.execute(select(ProviderMinute.minute, ProviderMinute.messages)).all()
        sessions = set(session.scalars(select(UserSession.token_hash)))
    assert buckets == {"subscribe:live", "postmark"}
    assert sessions == {"new"}
    assert len(minutes) == 2  # the recent minute and the running totals
    totals = [messages for minute, messages in minutes if minute == ALL_TIME]
    assert totals == [1000]
