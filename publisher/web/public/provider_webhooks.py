"""Provider webhooks: ``POST /webhooks/{provider}``, verified before anything is read.

The raw body is read (at most :data:`MAX_BODY_BYTES`, else 413) and verified exactly as the
provider signs it, before it is parsed; a refused request answers 401 or 403 and writes
nothing. A verified body is read into events and ingested in the request's unit of work, which
commits before the 200 leaves: a provider only stops retrying once the events are stored, and
its retries are harmless (events are deduplicated).
"""

from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, HTTPException, Request, status

from core.providers.events import WebhookRefused
from core.providers.registry import webhook_reader
from core.providers.ses_webhooks import CertificateUnavailable, SesWebhooks
from core.settings import get_settings
from publisher.tracking.provider_events import ingest_events
from publisher.web.deps import DbSession

MAX_BODY_BYTES = 5 * 1024 * 1024

router = APIRouter(tags=["webhooks"])


async def raw_body(request: Request) -> bytes:
    """The request's body as sent, refused with 413 beyond :data:`MAX_BODY_BYTES`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _too_large()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise _too_large()
    return bytes(body)


def _confirm_subscription(url: str) -> None:
    """Answer SNS's subscription confirmation (the URL was checked to be the topic's host)."""
    try:
        httpx.get(url, timeout=10, follow_redirects=False).raise_for_status()
    except httpx.HTTPError as error:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"confirming failed: {error}") from error


def _too_large() -> HTTPException:
    limit = f"webhook bodies are limited to {MAX_BODY_BYTES} bytes"
    return HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, limit)


@router.post("/webhooks/{provider}")
def receive_webhook(
    provider: str,
    request: Request,
    body: Annotated[bytes, Depends(raw_body)],
    session: DbSession,
) -> dict[str, int]:
    """Verify, read and store one webhook request of ``provider``.

    Answers ``accepted`` (events in the body), ``recorded`` (stored now, not seen before) and
    ``unmatched`` (stored, but naming no delivery of ours).
    """
    reader = webhook_reader(provider, get_settings())
    if reader is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no webhooks from {provider!r}")
    try:
        reader.verify(request.headers, body)
    except WebhookRefused as refused:
        raise HTTPException(refused.status, str(refused)) from refused
    except CertificateUnavailable as error:  # SNS retries: better late than unverified
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(error)) from error
    if isinstance(reader, SesWebhooks) and (confirm := reader.subscription_url(body)):
        _confirm_subscription(confirm)
        return {"accepted": 0, "recorded": 0, "unmatched": 0}
    try:
        events = reader.read(body)
    except ValueError as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"unreadable body: {error}") from error
    ingested = ingest_events(session, reader.provider, events)
    return {
        "accepted": ingested.received,
        "recorded": ingested.recorded,
        "unmatched": ingested.unmatched,
    }
