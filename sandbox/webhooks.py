"""Postmark's delivery and bounce webhooks, posted back for what the sandbox accepted.

Each accepted recipient gets one record, shaped as Postmark documents it: ``Delivery``, or with
probability ``bounce_rate`` a ``HardBounce``. Records wait in a bounded queue and a few
background tasks post them over one shared client, so sending never waits for the receiver; a
record that still fails after a couple of retries, or finds the queue full, is dropped and
counted. Credentials in the URL (``https://user:secret@host/path``) become HTTP basic auth, as
Postmark does.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from typing import Any

import httpx
import orjson

Json = dict[str, Any]

SERVER_ID = 1
QUEUE_SIZE = 50_000
SENDERS = 4
RETRY_DELAYS = (0.2, 1.0)
TIMEOUT_SECONDS = 5.0


class Destination:
    """Where records go: the URL without its credentials, and the basic auth they make."""

    def __init__(self, url: str) -> None:
        parsed = httpx.URL(url)
        # The base Auth adds nothing: a URL without credentials is posted without them.
        self.auth = (
            httpx.BasicAuth(parsed.username, parsed.password) if parsed.username else httpx.Auth()
        )
        self.url = parsed.copy_with(username=None, password=None)


def delivery_record(message: Json, message_id: str, recipient: str, at: str) -> Json:
    """Postmark's ``Delivery`` webhook record for one recipient of ``message``."""
    return {
        "RecordType": "Delivery",
        "ServerID": SERVER_ID,
        "MessageStream": message.get("MessageStream") or "outbound",
        "MessageID": message_id,
        "Recipient": recipient,
        "Tag": message.get("Tag") or "",
        "DeliveredAt": at,
        "Details": "smtp;250 2.0.0 OK (sandbox: nothing was delivered)",
        "Metadata": message.get("Metadata") or {},
    }


def bounce_record(message: Json, message_id: str, recipient: str, at: str, number: int) -> Json:
    """Postmark's ``Bounce`` webhook record (a hard bounce) for one recipient of ``message``."""
    return {
        "RecordType": "Bounce",
        "ID": number,
        "Type": "HardBounce",
        "TypeCode": 1,
        "Name": "Hard bounce",
        "Tag": message.get("Tag") or "",
        "MessageID": message_id,
        "Metadata": message.get("Metadata") or {},
        "ServerID": SERVER_ID,
        "MessageStream": message.get("MessageStream") or "outbound",
        "Description": "The server was unable to deliver your message (ex: unknown user, "
        "mailbox not found).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist "
        "(sandbox)",
        "Email": recipient,
        "From": message.get("From") or "",
        "BouncedAt": at,
        "DumpAvailable": False,
        "Inactive": True,
        "CanActivate": True,
        "Subject": message.get("Subject") or "",
    }


class PostmarkWebhooks:
    """Posts webhook records in the background; ``tally`` counts the sent and the failed."""

    def __init__(self, tally: Callable[[str], None]) -> None:
        self._tally = tally
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[tuple[Destination, Json]] | None = None
        self._client: httpx.AsyncClient | None = None
        self._senders: list[asyncio.Task[None]] = []
        self._bounces = 0

    def announce(
        self,
        url: str,
        accepted: Iterable[tuple[Json, str, list[str]]],
        at: str,
        bounces: Callable[[], bool],
    ) -> None:
        """Queue a record per recipient of each accepted ``(message, message_id, recipients)``.

        ``bounces`` decides, recipient by recipient, whether it is a bounce or a delivery.
        """
        records = []
        for message, message_id, recipients in accepted:
            for recipient in recipients:
                if bounces():
                    self._bounces += 1
                    records.append(bounce_record(message, message_id, recipient, at, self._bounces))
                else:
                    records.append(delivery_record(message, message_id, recipient, at))
        self.post(Destination(url), records)

    def post(self, destination: Destination, records: list[Json]) -> None:
        """Queue ``records`` for ``destination``; call from the event loop. Never waits."""
        queue = self._running_queue()
        for record in records:
            try:
                queue.put_nowait((destination, record))
            except asyncio.QueueFull:
                self._tally("webhooks_failed")

    async def close(self) -> None:
        """Stop posting (queued records are dropped) and close the client."""
        for sender in self._senders:
            sender.cancel()
        for sender in self._senders:
            with contextlib.suppress(asyncio.CancelledError):
                await sender
        if self._client is not None:
            await self._client.aclose()
        self._loop, self._queue, self._client, self._senders = None, None, None, []

    def _running_queue(self) -> asyncio.Queue[tuple[Destination, Json]]:
        loop = asyncio.get_running_loop()
        if self._queue is None or self._loop is not loop:
            # First use, or a new event loop: queues, clients and tasks belong to one loop.
            self._loop = loop
            self._queue = asyncio.Queue(QUEUE_SIZE)
            self._client = httpx.AsyncClient(timeout=TIMEOUT_SECONDS)
            self._senders = [
                loop.create_task(self._send_forever(self._queue, self._client))
                for _ in range(SENDERS)
            ]
        return self._queue

    async def _send_forever(
        self, queue: asyncio.Queue[tuple[Destination, Json]], client: httpx.AsyncClient
    ) -> None:
        while True:
            destination, record = await queue.get()
            sent = await _post_with_retries(client, destination, record)
            self._tally("webhooks_sent" if sent else "webhooks_failed")


async def _post_with_retries(
    client: httpx.AsyncClient, destination: Destination, record: Json
) -> bool:
    body = orjson.dumps(record)
    headers = {"Content-Type": "application/json"}
    for delay in (*RETRY_DELAYS, None):
        try:
            response = await client.post(
                destination.url, content=body, headers=headers, auth=destination.auth
            )
            if response.is_success:
                return True
        except httpx.HTTPError:
            pass
        if delay is None:
            return False
        await asyncio.sleep(delay)
    return False
