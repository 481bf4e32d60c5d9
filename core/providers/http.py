"""What the HTTP providers share: which errors mean "never sent", Retry-After, and how a
message of a split batch reports a later call's failure."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from core.message import OutgoingMessage
from core.providers.base import OutcomeUnknown, ProviderError, SendResult

# Characters that make a display name need quotes (those email.utils.formataddr quotes).
_NEEDS_QUOTES = re.compile(r'[][\\()<>@,:;".]')
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")

NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
"""Transport errors raised before the request left: retrying cannot duplicate anything."""


def display_name(name: str) -> str:
    """A display name for a JSON API's ``Name <address>`` field, left in UTF-8: quoted where
    it holds RFC 5322 specials (a comma would otherwise read as a second address), with
    control characters (which could smuggle in a header) turned into spaces."""
    name = _CONTROL.sub(" ", name).strip()
    if _NEEDS_QUOTES.search(name):
        return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return name


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


def not_accepted(message: OutgoingMessage, error: ProviderError | OutcomeUnknown) -> SendResult:
    """The result of a message whose call failed after an earlier call of its batch was
    accepted (so the failure cannot be raised): retried or unknown as the error says."""
    return SendResult(
        key=message.key,
        accepted=False,
        error=describe(error),
        retry=isinstance(error, ProviderError) and error.retryable,
        unknown=isinstance(error, OutcomeUnknown),
    )


def send_one_by_one(
    messages: Sequence[OutgoingMessage], send: Callable[[OutgoingMessage], SendResult]
) -> list[SendResult]:
    """A batch through an API that takes one message per request, in order.

    A failure of a whole request (:class:`ProviderError`, :class:`OutcomeUnknown`) is raised
    while nothing of the batch was accepted (the pipeline then treats the batch as one); after
    an acceptance it stops the batch and is reported per message (:func:`stopped_batch`).
    """
    results: list[SendResult] = []
    for index, message in enumerate(messages):
        try:
            results.append(send(message))
        except (ProviderError, OutcomeUnknown) as error:
            if not any(result.accepted for result in results):
                raise
            results.extend(stopped_batch(message, messages[index + 1 :], error))
            break
    return results


def json_client(
    base_url: str, timeout: float, transport: httpx.BaseTransport | None, **headers: str
) -> httpx.Client:
    """One pooled client for a JSON API, with the provider's own headers."""
    return httpx.Client(
        base_url=base_url,
        timeout=timeout,
        transport=transport,
        headers={"Accept": "application/json", "Content-Type": "application/json", **headers},
    )


def stopped_batch(
    failed: OutgoingMessage,
    rest: Sequence[OutgoingMessage],
    error: ProviderError | OutcomeUnknown,
) -> list[SendResult]:
    """A batch sent message by message that stopped at ``failed``: its result, then those of
    the messages never attempted (sent again later)."""
    reason = f"not attempted: the batch stopped at an earlier message: {error}"
    never_sent = [SendResult(key=m.key, accepted=False, error=reason, retry=True) for m in rest]
    return [not_accepted(failed, error), *never_sent]


def refused(message: OutgoingMessage, error: str) -> SendResult:
    """The result of a message the provider did not accept."""
    return SendResult(key=message.key, accepted=False, error=error)


def read_json(client: httpx.Client, path: str, provider: str) -> Any:
    """GET ``path`` (an authenticated read that sends nothing) and its JSON answer; raises
    :class:`ProviderError` naming ``provider`` when it is unreachable or refuses."""
    try:
        response = client.get(path)
    except httpx.HTTPError as error:
        raise ProviderError(f"{provider} unreachable: {error!r}", retryable=True) from error
    if response.status_code in (httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN):
        raise ProviderError(
            f"{provider} refused the credentials: HTTP {response.status_code} "
            f"{response.text[:200]}",
            retryable=False,
        )
    if not response.is_success:
        raise ProviderError(
            f"{provider} answered HTTP {response.status_code} to GET {path}: {response.text[:200]}",
            retryable=response.is_server_error,
        )
    try:
        return response.json()
    except ValueError as error:
        raise ProviderError(
            f"{provider} answered GET {path} with no JSON", retryable=True
        ) from error
