"""Abuse limits of the public subscribe endpoints: per client IP and per address.

The token buckets of :mod:`core.ratelimit` (in Redis when there is one, else a database
row), keyed by a short hash so that neither IPs nor addresses are stored in the clear. The
limit per address counts attempts for that address whether or not Herald knows it, so a
refusal tells nothing about who is subscribed. A limiter that cannot be reached lets the
request through: a Redis outage must not close the subscribe form.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

import redis
from sqlalchemy.exc import SQLAlchemyError

from core.ratelimit import RateLimiter, shared_limiter
from core.settings import get_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Limit:
    """``burst`` attempts at once, then one more every ``3600 / per_hour`` seconds."""

    name: str
    burst: int
    per_hour: float


PER_IP = Limit("sub-ip", burst=30, per_hour=60)
"""Generous: a room at a forum may sign up from one NAT address."""
PER_ADDRESS = Limit("sub-to", burst=3, per_hour=6)
"""Each attempt may send a confirmation email: a few an hour is plenty for a person."""


def retry_after(*, ip: str, email: str | None) -> float:
    """Take one attempt from the client's and the address's limits: 0.0 when allowed, else
    the seconds to wait (nothing is taken from the address's limit when the IP's is spent)."""
    wait = take(PER_IP, ip)
    if wait == 0.0 and email:
        wait = take(PER_ADDRESS, email)
    return wait


def take(limit: Limit, value: str) -> float:
    """Take one attempt from ``value``'s bucket of ``limit``: 0.0 when allowed, else the
    seconds to wait; a limiter that cannot be reached lets the attempt through."""
    # 24 hex digits keep the key within the bucket table's 32 characters.
    key = f"{limit.name}:{hashlib.sha256(value.encode()).hexdigest()[:24]}"
    try:
        return _limiter(limit).acquire(key, 1)
    except (redis.RedisError, SQLAlchemyError):
        log.warning("rate limit %s unavailable; letting the attempt through", limit.name)
        return 0.0


def _limiter(limit: Limit) -> RateLimiter:
    settings = get_settings()
    rate = limit.per_hour / 3600
    return shared_limiter(settings.shared_redis_url, settings.database_url, rate, limit.burst)
