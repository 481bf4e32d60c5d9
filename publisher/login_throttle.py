"""The per-IP limit on login attempts, before any password is checked.

The account lockout stops guessing one account's password; this stops one client trying
many accounts, or keeping an account locked for good. The same token buckets as the
subscribe form's (:mod:`core.ratelimit`: in Redis when there is one, else a database row),
keyed by a short hash so that no IP is stored in the clear. A limiter that cannot be
reached lets the attempt through: the lockout still holds.
"""

from __future__ import annotations

import hashlib
import logging
from functools import lru_cache

import redis
from sqlalchemy.exc import SQLAlchemyError

from core.ratelimit import DatabaseRateLimiter, RateLimiter, RedisRateLimiter
from core.settings import get_settings

log = logging.getLogger(__name__)


def login_retry_after(ip: str) -> float:
    """Take one login attempt from the client's bucket: 0.0 when allowed, else seconds to wait."""
    # 24 hex digits keep the key within the database bucket's 32 characters.
    key = f"login:{hashlib.sha256(ip.encode()).hexdigest()[:24]}"
    try:
        return _limiter().acquire(key, 1)
    except (redis.RedisError, SQLAlchemyError):
        log.warning("login rate limit unavailable; letting the attempt through")
        return 0.0


def _limiter() -> RateLimiter:
    settings = get_settings()
    return _build(
        settings.shared_redis_url,
        settings.database_url,
        settings.login_attempts_per_hour,
        settings.login_burst,
    )


@lru_cache(maxsize=8)
def _build(redis_url: str, database_url: str, per_hour: float, burst: int) -> RateLimiter:
    if redis_url:
        return RedisRateLimiter(redis_url, per_hour / 3600, burst)
    return DatabaseRateLimiter(per_hour / 3600, burst, url=database_url)
