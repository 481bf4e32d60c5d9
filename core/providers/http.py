"""What the HTTP providers share: which errors mean "never sent", Retry-After, and how a
message of a split batch reports a later call's failure."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from core.message import OutgoingMessage
from core.providers.base import OutcomeUnknown, ProviderError, SendResult

NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
"""Transport errors raised before the request left: retrying cannot duplicate anything."""


def retry_after(response: httpx.Response) -> float | None:
    """Retry-After as seconds, whether sent as a number or as an HTTP date."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def describe(error: ProviderError | OutcomeUnknown) -> str:
    """Why a message of a later call of a split batch was not accepted."""
    if isinstance(error, OutcomeUnknown):
        return f"outcome unknown, do not re-send blindly: {error}"
    kind = "retryable" if error.retryable else "not retryable"
    return f"not sent ({kind}): {error}"


def refused(message: OutgoingMessage, error: str) -> SendResult:
    """The result of a message the provider did not accept."""
    return SendResult(key=message.key, accepted=False, error=error)
