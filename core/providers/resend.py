"""Resend, through its batch endpoint (``POST /emails/batch``).

Resend's API takes up to 100 emails per call. Herald asks for its permissive batch validation
(``x-batch-validation: permissive``) so one invalid email does not sink the other 99: Resend
queues the valid ones and answers 200 with ``data``, the ids of the created emails, and
``errors``, one ``{index, message}`` per refused email, ``index`` counting from 0 in the
request. The ids are taken to be those of the remaining emails in request order. A failure
of the whole call is an HTTP error with a ``{statusCode, name, message}`` body.

Each call carries ``Idempotency-Key: herald-<attempt_key>``. For 24 hours Resend answers a
repeat of the same key and payload with the first answer and sends nothing again, which is
what ``idempotent = True`` relies on: the pipeline must re-send an attempt (same key, same
messages) within that day. A repeat whose payload changed is refused (409
``invalid_idempotent_request``) while the first request may have been sent, so its outcome
stays unknown for good. Without an ``attempt_key`` no key is sent and nothing guards a
repeat, so a call that got no answer is reported as not resendable.

Resend writes its own Message-ID and does not document accepting ours, so ours is not sent;
events find their delivery through the ``herald_key`` and ``delivery_id`` tags. Open and
click tracking are per-domain settings at Resend and must stay off: Herald tracks them itself.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
import orjson

from core.message import Mailbox, OutgoingMessage
from core.providers.base import OutcomeUnknown, ProviderError, SendResult
from core.providers.http import (
    NEVER_SENT,
    display_name,
    json_client,
    not_accepted,
    read_json,
    refused,
    retry_after,
)

DEFAULT_BASE_URL = "https://api.resend.com"
MAX_BATCH_SIZE = 100
MAX_IDEMPOTENCY_KEY_LENGTH = 256
IDEMPOTENCY_KEY_PREFIX = "herald-"
# The request holding the key is still running; it is about to finish, so ask again soon.
CONCURRENT_REQUEST_RETRY_SECONDS = 1.0

# Resend's rule for tag names and values.
_TAG_TEXT = re.compile(r"[A-Za-z0-9_-]{1,256}")


class ResendProvider:
    """Sends batches to Resend's HTTP API over one reusable connection pool."""

    name = "resend"
    max_batch_size = MAX_BATCH_SIZE
    idempotent = True

    def __init__(
        self,
        base_url: str,
        api_key: str,
        timeout: float,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._client = json_client(
            base_url,
            timeout,
            transport,
            Authorization=f"Bearer {api_key}",
            **{"x-batch-validation": "permissive"},
        )

    def send_batch(
        self, messages: Sequence[OutgoingMessage], *, attempt_key: str = ""
    ) -> list[SendResult]:
        """Send ``messages`` in calls of at most 100, each under its own idempotency key.

        A single call is keyed ``herald-<attempt_key>``; when more are needed, call ``n``
        (from 0) is keyed ``herald-<attempt_key>-<n>``, so re-sending the same messages
        replays every call. A failure of the first call raises (nothing was accepted). Once a
        call has been accepted, a later failure cannot be raised without losing the accepted
        results, so the messages it carried are reported as not accepted, with the reason.
        """
        size = self.max_batch_size
        chunks = [messages[start : start + size] for start in range(0, len(messages), size)]
        results: list[SendResult] = []
        for number, chunk in enumerate(chunks):
            part = number if len(chunks) > 1 else None
            key = idempotency_key(attempt_key, part)
            results.extend(self._send_chunk(chunk, key, first=number == 0))
        return results

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def check_access(self) -> str:
        """Prove the API key: Resend's ``GET /domains``, which sends nothing."""
        answer = read_json(self._client, "/domains", "Resend")
        domains = answer.get("data") if isinstance(answer, dict) else None
        names = [str(d.get("name")) for d in domains or [] if isinstance(d, dict)]
        return f"Resend accepts the API key; domains: {', '.join(names) or 'none'}"

    def _send_chunk(
        self, batch: Sequence[OutgoingMessage], key: str, *, first: bool
    ) -> list[SendResult]:
        try:
            return self._post(batch, key)
        except (ProviderError, OutcomeUnknown) as error:
            if first:
                raise
            return [not_accepted(message, error) for message in batch]

    def _post(self, batch: Sequence[OutgoingMessage], key: str) -> list[SendResult]:
        body = orjson.dumps([message_json(message) for message in batch])
        headers = {"Idempotency-Key": key} if key else {}
        try:
            response = self._client.post("/emails/batch", content=body, headers=headers)
        except NEVER_SENT as error:
            raise ProviderError(f"Resend unreachable: {error!r}", retryable=True) from error
        except httpx.TransportError as error:
            # Only a key makes a repeat safe: Resend then replays instead of sending again.
            raise OutcomeUnknown(
                f"Resend did not answer: {error!r}", resendable=bool(key)
            ) from error
        if response.status_code != httpx.codes.OK:
            raise _call_failed(response)
        return _results(batch, response)


def message_json(message: OutgoingMessage) -> dict[str, Any]:
    """The message in Resend's JSON shape."""
    found: dict[str, Any] = {
        "from": mailbox_text(message.sender),
        "to": [mailbox_text(message.to)],
        "subject": message.subject,
        "html": message.html,
        "text": message.text,
        "headers": dict(message.headers),
        "tags": tags({**message.metadata, "herald_key": message.key}),
    }
    if message.reply_to:  # its own field: a Reply-To in headers would be a second one
        found["reply_to"] = [mailbox_text(mailbox) for mailbox in message.reply_to]
    return found


def mailbox_text(mailbox: Mailbox) -> str:
    """``Name <address>``, the form Resend documents, with the name left in UTF-8.

    The name is quoted where RFC 5322 needs it; control characters (a line break could
    smuggle in a header) become spaces.
    """
    name = display_name(mailbox.name)
    return f"{name} <{mailbox.email}>" if name else mailbox.email


def tags(values: Mapping[str, str]) -> list[dict[str, str]]:
    """Resend tags for ``values``, leaving out any pair outside Resend's tag characters.

    A pair is left out rather than rewritten: a rewritten id could point events at another
    delivery.
    """
    return [
        {"name": name, "value": value}
        for name, value in values.items()
        if _TAG_TEXT.fullmatch(name) and _TAG_TEXT.fullmatch(value)
    ]


def idempotency_key(attempt_key: str, part: int | None = None) -> str:
    """The ``Idempotency-Key`` for one call of an attempt; empty when there is no attempt key.

    A key Resend would refuse (over 256 characters) or HTTP could not carry (not printable
    ASCII) is replaced by its SHA-256, which is as stable across retries as the key itself.
    """
    if not attempt_key:
        return ""
    key = f"{IDEMPOTENCY_KEY_PREFIX}{attempt_key}" + ("" if part is None else f"-{part}")
    if len(key) > MAX_IDEMPOTENCY_KEY_LENGTH or not (key.isascii() and key.isprintable()):
        key = f"{IDEMPOTENCY_KEY_PREFIX}sha256-{hashlib.sha256(key.encode()).hexdigest()}"
    return key


def _results(batch: Sequence[OutgoingMessage], response: httpx.Response) -> list[SendResult]:
    """Refused messages by their index, the ids in order to the others."""
    answer = _json(response)
    refusals = _refusals(answer, len(batch))
    ids = _ids(answer)
    if refusals is None or ids is None or len(ids) + len(refusals) != len(batch):
        # Resend answered, so a repeat would replay this same answer: resending cannot help.
        raise OutcomeUnknown(
            f"Resend answered 200 in an unexpected shape for {len(batch)} messages: "
            f"{response.text[:300]}",
            resendable=False,
        )
    remaining = iter(ids)
    return [
        refused(message, refusals[index])
        if index in refusals
        else SendResult(key=message.key, accepted=True, provider_message_id=next(remaining))
        for index, message in enumerate(batch)
    ]


def _ids(answer: Any) -> list[str] | None:
    data = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(data, list):
        return None
    ids: list[str] = []
    for item in data:
        email_id = item.get("id") if isinstance(item, dict) else None
        if not isinstance(email_id, str) or not email_id:
            return None
        ids.append(email_id)
    return ids


def _refusals(answer: Any, size: int) -> dict[int, str] | None:
    """Index → Resend's message for each refused email; None when the list makes no sense."""
    errors = (answer.get("errors") or []) if isinstance(answer, dict) else None
    if not isinstance(errors, list):
        return None
    refusals: dict[int, str] = {}
    for error in errors:
        if not isinstance(error, dict):
            return None
        index = error.get("index")
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < size:
            return None
        if index in refusals:
            return None
        refusals[index] = str(error.get("message") or "refused by Resend")
    return refusals


def _call_failed(response: httpx.Response) -> ProviderError | OutcomeUnknown:
    status = response.status_code
    name, message = _error(response)
    detail = f"Resend HTTP {status} {name}: {message}"
    if status == httpx.codes.CONFLICT and name == "invalid_idempotent_request":
        return OutcomeUnknown(
            f"{detail} (the first request with this key may have been sent)", resendable=False
        )
    if status == httpx.codes.CONFLICT and name == "concurrent_idempotent_requests":
        return ProviderError(detail, retryable=True, retry_after=CONCURRENT_REQUEST_RETRY_SECONDS)
    if status == httpx.codes.TOO_MANY_REQUESTS:
        return ProviderError(
            detail, retryable=True, retry_after=_rate_limit_wait(response), throttled=True
        )
    return ProviderError(detail, retryable=status >= httpx.codes.INTERNAL_SERVER_ERROR)


def _error(response: httpx.Response) -> tuple[str, str]:
    """Resend's error ``name`` and ``message``, or the start of whatever came instead."""
    body = _json(response)
    if isinstance(body, dict) and ("name" in body or "message" in body):
        return str(body.get("name", "")), str(body.get("message", ""))
    return "", response.text[:500]


def _rate_limit_wait(response: httpx.Response) -> float | None:
    """Retry-After, else ``ratelimit-reset`` (seconds until Resend's window resets)."""
    wait = retry_after(response)
    if wait is not None:
        return wait
    try:
        return max(float(response.headers["ratelimit-reset"]), 0.0)
    except (KeyError, ValueError):
        return None


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
