"""Postmark, through its batch endpoint (``POST /email/batch``).

Postmark takes up to 500 messages and 50 MB per call and answers 200 with one result per
message, in request order, even when some of them were refused; each result carries its own
``ErrorCode`` (0 means accepted). A failure of the whole call comes back as an HTTP error with
a ``{"ErrorCode", "Message"}`` body. Postmark has no idempotency key, so a call whose answer
never arrived is reported as :class:`OutcomeUnknown`, never retried here.

Herald tracks opens and clicks itself, so Postmark's tracking is turned off on every message.

What became of a message whose answer never came, Postmark's outbound message search can
tell (:meth:`PostmarkProvider.reconcile`): ``GET /messages/outbound`` filtered by the
``delivery_id`` and ``campaign_id`` metadata every campaign message carries.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import orjson

from core.message import OutgoingMessage
from core.mime import formatted_mailbox
from core.providers.base import Dispatched, OutcomeUnknown, ProviderError, SendResult, Sighting
from core.providers.http import (
    NEVER_SENT,
    json_client,
    not_accepted,
    read_json,
    refused,
    retry_after,
)

DEFAULT_BASE_URL = "https://api.postmarkapp.com"
TRANSACTIONAL_STREAM = "outbound"
# Postmark's documented limits; decimal megabytes keep us under them whichever unit they mean.
MAX_BATCH_BYTES = 50_000_000
MAX_MESSAGE_BYTES = 10_000_000


class PostmarkProvider:
    """Sends batches to Postmark's HTTP API over one reusable connection pool."""

    name = "postmark"
    max_batch_size = 500
    idempotent = False
    max_batch_bytes = MAX_BATCH_BYTES
    max_message_bytes = MAX_MESSAGE_BYTES

    def __init__(
        self,
        base_url: str,
        server_token: str,
        message_stream: str,
        timeout: float,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.message_stream = message_stream
        self._client = json_client(
            base_url, timeout, transport, **{"X-Postmark-Server-Token": server_token}
        )

    def send_batch(
        self, messages: Sequence[OutgoingMessage], *, attempt_key: str = ""
    ) -> list[SendResult]:
        """Send ``messages`` in as few calls as Postmark's limits allow.

        A failure of the first call raises (nothing was accepted). Once a call has been
        accepted, a later failure cannot be raised without losing the accepted results, so the
        messages it carried are reported as not accepted, with the reason in ``error``.
        """
        payloads = [self._encode(message) for message in messages]
        results: list[SendResult | None] = [None] * len(messages)
        for index, payload in enumerate(payloads):
            if len(payload) > self.max_message_bytes:
                results[index] = refused(messages[index], "message exceeds Postmark's 10 MB limit")
        pending = [i for i, result in enumerate(results) if result is None]
        for number, chunk in enumerate(self._chunks(pending, payloads)):
            batch = [messages[i] for i in chunk]
            outcomes = self._send_chunk(batch, [payloads[i] for i in chunk], first=number == 0)
            for i, outcome in zip(chunk, outcomes, strict=True):
                results[i] = outcome
        return [result for result in results if result is not None]

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def check_access(self) -> str:
        """Prove the server token: Postmark's ``GET /server``, which sends nothing."""
        server = read_json(self._client, "/server", "Postmark")
        name = server.get("Name") if isinstance(server, dict) else None
        return f"Postmark server {name!r} accepts the token"

    def reconcile(self, messages: Sequence[Dispatched]) -> list[Sighting]:
        """Ask Postmark's message search about each dispatched message, one search each.

        Stops at the first search that fails: the sightings so far are returned (the rest
        stay in doubt), or :class:`ProviderError` is raised when not even one answered.
        """
        sightings: list[Sighting] = []
        for message in messages:
            try:
                sightings.append(search_outbound(self._client, message))
            except ProviderError:
                if not sightings:
                    raise
                break
        return sightings

    def message_json(self, message: OutgoingMessage) -> dict[str, Any]:
        """The message in Postmark's JSON shape."""
        headers = [{"Name": name, "Value": value} for name, value in message.headers.items()]
        headers.append({"Name": "Message-ID", "Value": message.message_id})
        found: dict[str, Any] = {
            "From": formatted_mailbox(message.sender),
            "To": formatted_mailbox(message.to),
            "Subject": message.subject,
            "HtmlBody": message.html,
            "TextBody": message.text,
            "Headers": headers,
            "Metadata": {**message.metadata, "herald_key": message.key},
            "MessageStream": (
                TRANSACTIONAL_STREAM if message.transactional else self.message_stream
            ),
            "TrackOpens": False,
            "TrackLinks": "None",
        }
        if message.reply_to:  # its own field: a Reply-To in Headers would be a second one
            found["ReplyTo"] = ", ".join(formatted_mailbox(mailbox) for mailbox in message.reply_to)
        return found

    def _encode(self, message: OutgoingMessage) -> bytes:
        # orjson's buffer outgrows its output several times over; a batch keeps 500 of them,
        # so keep an exact-size copy (a few microseconds) instead of ~8x the memory.
        return bytes(memoryview(orjson.dumps(self.message_json(message))))

    def _chunks(self, indexes: list[int], payloads: list[bytes]) -> Iterator[list[int]]:
        """Groups of message indexes that fit both the count and the size limit of one call."""
        chunk: list[int] = []
        size = 2  # the brackets of the JSON array
        for index in indexes:
            grown = size + len(payloads[index]) + 1  # and a comma
            if chunk and (len(chunk) >= self.max_batch_size or grown > self.max_batch_bytes):
                yield chunk
                chunk, grown = [], 2 + len(payloads[index])
            chunk.append(index)
            size = grown
        if chunk:
            yield chunk

    def _send_chunk(
        self, batch: list[OutgoingMessage], payloads: list[bytes], *, first: bool
    ) -> list[SendResult]:
        try:
            return self._post(batch, b"[" + b",".join(payloads) + b"]")
        except (ProviderError, OutcomeUnknown) as error:
            if first:
                raise
            return [not_accepted(message, error) for message in batch]

    def _post(self, batch: list[OutgoingMessage], body: bytes) -> list[SendResult]:
        try:
            response = self._client.post("/email/batch", content=body)
        except NEVER_SENT as error:
            raise ProviderError(f"Postmark unreachable: {error!r}", retryable=True) from error
        except httpx.TransportError as error:
            raise OutcomeUnknown(f"Postmark did not answer: {error!r}") from error
        if response.status_code != httpx.codes.OK:
            raise _call_failed(response)
        return _results(batch, response)


def _results(batch: list[OutgoingMessage], response: httpx.Response) -> list[SendResult]:
    """Map Postmark's per-message answers, in request order, onto our messages."""
    try:
        items = response.json()
    except ValueError:
        items = None
    if not isinstance(items, list) or len(items) != len(batch):
        count = len(items) if isinstance(items, list) else "no"
        raise ProviderError(
            f"Postmark answered 200 with {count} results for {len(batch)} messages; "
            "some may have been accepted, so the batch must not be re-sent blindly",
            retryable=False,
        )
    return [_result(message, item) for message, item in zip(batch, items, strict=True)]


def _result(message: OutgoingMessage, item: Any) -> SendResult:
    if not isinstance(item, dict):
        return refused(message, f"unexpected result from Postmark: {item!r}")
    code = item.get("ErrorCode")
    if code == 0:
        message_id = item.get("MessageID")
        return SendResult(
            key=message.key,
            accepted=True,
            provider_message_id=str(message_id) if message_id else None,
        )
    return refused(message, f"{code}: {item.get('Message', '')}")


def _call_failed(response: httpx.Response) -> ProviderError:
    status = response.status_code
    detail = f"Postmark HTTP {status}: {_error_detail(response)}"
    if status == httpx.codes.TOO_MANY_REQUESTS:
        return ProviderError(
            detail, retryable=True, retry_after=retry_after(response), throttled=True
        )
    return ProviderError(detail, retryable=status >= httpx.codes.INTERNAL_SERVER_ERROR)


def _error_detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    if isinstance(body, dict) and "ErrorCode" in body:
        return f"{body['ErrorCode']}: {body.get('Message', '')}"
    return json.dumps(body, ensure_ascii=False)[:500]


def search_outbound(client: httpx.Client, message: Dispatched) -> Sighting:
    """Whether Postmark holds ``message``: its outbound search by our metadata."""
    query = {
        "count": "1",
        "offset": "0",
        "metadata_delivery_id": message.key,
        "metadata_campaign_id": message.campaign_id,
    }
    try:
        response = client.get("/messages/outbound", params=query)
    except httpx.TransportError as error:
        raise ProviderError(f"Postmark search failed: {error!r}", retryable=True) from error
    if response.status_code != httpx.codes.OK:
        raise _call_failed(response)
    try:
        body = response.json()
        total, found = int(body["TotalCount"]), body["Messages"]
    except (ValueError, KeyError, TypeError) as error:
        raise ProviderError(
            f"Postmark search answered {response.text[:200]!r}", retryable=True
        ) from error
    if total == 0 or not found:
        return Sighting(key=message.key, seen=False)
    message_id = found[0].get("MessageID") if isinstance(found[0], dict) else None
    return Sighting(key=message.key, seen=True, provider_message_id=_text(message_id))


def _text(value: Any) -> str | None:
    return str(value) if value else None
