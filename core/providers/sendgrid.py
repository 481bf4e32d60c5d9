"""SendGrid, through its v3 Mail Send endpoint (``POST /v3/mail/send``): one request per message.

A Mail Send request carries up to 1,000 ``personalizations``; each may set its own ``to``,
``subject``, ``headers`` and ``custom_args``, but the body (``content``) belongs to the
request, not to a personalization. Per-recipient text can only come from ``substitutions``
(at most 10,000 bytes per personalization) or from a dynamic template stored at SendGrid and
filled with ``dynamic_template_data``. Herald renders every message whole (unsubscribe
token, tracked links, the subscriber's name) and a report runs to tens of kilobytes, so
neither fits: each message goes as its own request holding one personalization, all over one
reusable connection pool. That is the limitation of this adapter: a batch costs one HTTP
call per message, so ``max_batch_size`` is kept small enough for a batch to finish well
within a claim's lease.

SendGrid answers ``202 Accepted`` with an empty body and the message's id in the
``X-Message-Id`` header; any other success (a 200 means "valid but not queued") counts as a
failure of the batch. Errors carry ``{"errors": [{"message", "field", "help"}]}``. A 400
(or another client error about the request itself) refuses that one message and the batch
goes on; 401, 403, 404 and 405 concern the key, the sender identity or the address of the
API, and 429 and 5xx the service, so they fail the batch: raised when nothing of it was
accepted yet, otherwise reported on every message not sent (raising would lose the accepted
ones, and re-sending those would send them twice). A 429 names when to come back in
``X-RateLimit-Reset`` (a unix time), or in ``Retry-After`` if present.

SendGrid takes no idempotency key, so ``idempotent = False``: a request that left without an
answer may have been sent, and its outcome is unknown for good.

SendGrid's open, click and subscription tracking and its Google Analytics link tagging are
turned off on every message: Herald tracks opens and clicks itself and its links must arrive
as written. SendGrid writes its own Message-ID and does not document taking ours, so ours is
not sent (two Message-ID headers would be worse than none of ours); events find their
delivery through the ``delivery_id`` and ``herald_key`` custom args.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import httpx
import orjson

from core.message import Mailbox, OutgoingMessage
from core.providers.base import OutcomeUnknown, ProviderError, SendResult
from core.providers.http import (
    NEVER_SENT,
    display_name,
    json_client,
    read_json,
    refused,
    retry_after,
    send_one_by_one,
)

DEFAULT_BASE_URL = "https://api.sendgrid.com"
SEND_PATH = "/v3/mail/send"
MAX_BATCH_SIZE = 100

TRACKING_OFF: dict[str, dict[str, bool]] = {
    "click_tracking": {"enable": False, "enable_text": False},
    "open_tracking": {"enable": False},
    "subscription_tracking": {"enable": False},
    "ganalytics": {"enable": False},
}

# Failures that concern every message of the batch, not the one being sent.
_ACCOUNT_ERRORS = frozenset({401, 403, 404, 405})


class SendGridProvider:
    """Sends messages to SendGrid's Mail Send API, one request each, over one pool."""

    name = "sendgrid"
    max_batch_size = MAX_BATCH_SIZE
    idempotent = False

    def __init__(
        self,
        base_url: str,
        api_key: str,
        timeout: float,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._client = json_client(base_url, timeout, transport, Authorization=f"Bearer {api_key}")

    def send_batch(
        self, messages: Sequence[OutgoingMessage], *, attempt_key: str = ""
    ) -> list[SendResult]:
        """Send each message in its own request, in order; one result per message.

        ``attempt_key`` is unused: SendGrid has no idempotency key. A message SendGrid
        refuses is reported and the batch goes on. A failure of the service or the account
        stops the batch: it is raised while no message has been accepted, and otherwise
        reported on the message that met it and on every one after it.
        """
        return send_one_by_one(messages, self._send)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def check_access(self) -> str:
        """Prove the API key: SendGrid's ``GET /v3/scopes``, and that it may send mail."""
        answer = read_json(self._client, "/v3/scopes", "SendGrid")
        scopes = answer.get("scopes") if isinstance(answer, dict) else None
        if "mail.send" not in (scopes or []):
            raise ProviderError(
                "SendGrid accepts the API key, but it lacks mail.send", retryable=False
            )
        return f"SendGrid accepts the API key ({len(scopes or [])} scopes, mail.send among them)"

    def _send(self, message: OutgoingMessage) -> SendResult:
        body = orjson.dumps(mail_json(message))
        try:
            response = self._client.post(SEND_PATH, content=body)
        except NEVER_SENT as error:
            raise ProviderError(f"SendGrid unreachable: {error!r}", retryable=True) from error
        except httpx.TransportError as error:
            # No idempotency key: a repeat could send the message twice.
            raise OutcomeUnknown(f"SendGrid did not answer: {error!r}", resendable=False) from error
        if response.status_code == httpx.codes.ACCEPTED:
            message_id = response.headers.get("X-Message-Id") or None
            return SendResult(key=message.key, accepted=True, provider_message_id=message_id)
        failure = _batch_failure(response)
        if failure is not None:
            raise failure
        return refused(message, _detail(response))


def mail_json(message: OutgoingMessage) -> dict[str, Any]:
    """The Mail Send request for ``message``: one personalization, tracking off."""
    found: dict[str, Any] = {
        "personalizations": [personalization(message)],
        "from": address_json(message.sender),
        "content": content_json(message),
        "tracking_settings": TRACKING_OFF,
    }
    # SendGrid refuses Reply-To among headers: it has fields for it.
    if len(message.reply_to) == 1:
        found["reply_to"] = address_json(message.reply_to[0])
    elif message.reply_to:
        found["reply_to_list"] = [address_json(mailbox) for mailbox in message.reply_to]
    return found


def personalization(message: OutgoingMessage) -> dict[str, Any]:
    """The recipient's envelope: address, subject, own headers and our ids as custom args."""
    entry: dict[str, Any] = {"to": [address_json(message.to)], "subject": message.subject}
    if message.headers:
        entry["headers"] = dict(message.headers)
    entry["custom_args"] = {**message.metadata, "herald_key": message.key}
    return entry


def content_json(message: OutgoingMessage) -> list[dict[str, str]]:
    """The bodies, text/plain first as SendGrid requires; an empty one is left out."""
    parts = (("text/plain", message.text), ("text/html", message.html))
    return [{"type": kind, "value": value} for kind, value in parts if value]


def address_json(mailbox: Mailbox) -> dict[str, str]:
    """``{"email", "name"}``, the name left out when empty."""
    name = display_name(mailbox.name)
    return {"email": mailbox.email, "name": name} if name else {"email": mailbox.email}


def error_text(response: httpx.Response) -> str:
    """SendGrid's ``errors[].message`` (with the field, when named), or the start of the body."""
    body = _json(response)
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list) or not errors:
        return response.text[:500]
    return "; ".join(_one_error(error) for error in errors)


def _one_error(error: Any) -> str:
    if not isinstance(error, dict):
        return str(error)
    message = str(error.get("message") or "refused by SendGrid")
    field = error.get("field")
    return f"{field}: {message}" if field and field != "null" else message


def _detail(response: httpx.Response) -> str:
    return f"SendGrid HTTP {response.status_code}: {error_text(response)}"


def _batch_failure(response: httpx.Response) -> ProviderError | None:
    """The error that fails the whole batch, or None when only this message was refused."""
    status = response.status_code
    if status == httpx.codes.TOO_MANY_REQUESTS:
        wait = _rate_limit_wait(response)
        return ProviderError(_detail(response), retryable=True, retry_after=wait, throttled=True)
    if status >= httpx.codes.INTERNAL_SERVER_ERROR:
        return ProviderError(_detail(response), retryable=True)
    if status in _ACCOUNT_ERRORS or status < httpx.codes.BAD_REQUEST:
        return ProviderError(_detail(response), retryable=False)
    return None


def _rate_limit_wait(response: httpx.Response) -> float | None:
    """Retry-After, else the seconds until ``X-RateLimit-Reset`` (a unix time)."""
    wait = retry_after(response)
    if wait is not None:
        return wait
    try:
        return max(float(response.headers["X-RateLimit-Reset"]) - time.time(), 0.0)
    except (KeyError, ValueError):
        return None


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
