"""The per-IP limit on login attempts, before any password is checked.

The account lockout stops guessing one account's password; this stops one client trying
many accounts, or keeping an account locked for good. The same token buckets as the
subscribe form's (:func:`subscribers.throttle.take`: in Redis when there is one, else a
database row, keyed by a short hash so that no IP is stored in the clear). A limiter that
cannot be reached lets the attempt through: the lockout still holds.
"""

from __future__ import annotations

from core.settings import get_settings
from subscribers.throttle import Limit, take


def login_retry_after(ip: str) -> float:
    """Take one login attempt from the client's bucket: 0.0 when allowed, else seconds to wait."""
    settings = get_settings()
    limit = Limit("login", burst=settings.login_burst, per_hour=settings.login_attempts_per_hour)
    return take(limit, ip)
