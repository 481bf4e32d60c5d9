"""Outgoing webhooks: signed JSON for subscriber and campaign activity, with retries and a log.

Admins register endpoints (a URL, the activity kinds wanted, a generated secret). The
scheduler follows the activity log (:func:`fan_out`) and, for every matching active endpoint,
stores one :class:`WebhookDelivery` with the exact JSON body, then enqueues its task after
the commit. The task (:func:`attempt_delivery`) claims the row, POSTs the body, and records
the answer; a failure (a non-2xx answer, a timeout, no connection) is tried again with
exponential backoff, up to :data:`MAX_ATTEMPTS`, after which the row is ``failed``.
A receiver answers 2xx quickly; the same ``Herald-Delivery`` id may arrive twice (a retry
after a lost answer), so receivers deduplicate on it.

Signature (``Herald-Signature: t=<unix seconds>,v1=<hex>``): ``v1`` is the HMAC-SHA256, keyed
with the endpoint's secret, of ``"<t>.<raw body>"``. Receivers recompute it over the raw
body, compare in constant time, and refuse timestamps older than a few minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.activity import ACTIVITY_KINDS, ActivityEvent
from core.celery_app import enqueue_after_commit
from core.database import insert_ignoring_conflicts, utcnow
from core.netguard import AddressRefused, guarded_client, parse_web_url
from core.tasks import TaskName
from publisher.stats import cursors
from publisher.webhooks.models import WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint

CURSOR = "webhooks"
SIGNATURE_HEADER = "Herald-Signature"
TIMEOUT_SECONDS = 5.0
MAX_ATTEMPTS = 8
FIRST_RETRY_SECONDS = 10.0
CLAIM = timedelta(seconds=60)
"""How long an attempt holds its row: a worker that dies mid-call frees it after this."""


class EndpointError(ValueError):
    """An endpoint an admin entered cannot be used (bad URL, unknown kinds)."""


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``Herald-Signature`` header value for ``body`` sent at ``timestamp``."""
    message = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def create_endpoint(
    session: Session, *, url: str, kinds: Sequence[str] = (), description: str = ""
) -> WebhookEndpoint:
    """Register an endpoint with a new secret (shown to the admin once they look)."""
    url = url.strip()
    if not url.startswith(("https://", "http://")) or len(url) > 2000:
        raise EndpointError("the URL must start with https:// (or http://)")
    try:
        parse_web_url(url)
    except ValueError as error:
        raise EndpointError(str(error)) from error
    unknown = sorted(set(kinds) - set(ACTIVITY_KINDS))
    if unknown:
        raise EndpointError(f"unknown event kinds: {', '.join(unknown)}")
    endpoint = WebhookEndpoint(
        url=url,
        kinds=sorted(set(kinds)),
        description=description.strip()[:200],
        secret=f"whsec_{secrets.token_hex(24)}",
        active=True,
        created_at=utcnow(),
    )
    session.add(endpoint)
    session.flush()
    return endpoint


def set_active(session: Session, endpoint_id: int, *, active: bool) -> None:
    """Pause or resume an endpoint (a paused one gets nothing new)."""
    session.execute(
        update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id).values(active=active)
    )


def fan_out(session: Session, *, now: datetime | None = None) -> int:
    """Store and enqueue a delivery per new activity row and matching endpoint."""
    cursor = cursors.claim_cursor(session, CURSOR)
    rows = cursors.next_activity(session, cursor, now=now)
    endpoints = list(session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.active)))
    deliveries = [
        _delivery_row(endpoint, row, now or utcnow())
        for row in rows
        for endpoint in endpoints
        if not endpoint.kinds or row.kind in endpoint.kinds
    ]
    if deliveries:
        insert = insert_ignoring_conflicts(
            session, WebhookDelivery, index_elements=["endpoint_id", "activity_id"]
        )
        stored = session.execute(insert.returning(WebhookDelivery.id), deliveries).scalars()
        for delivery_id in sorted(stored):
            enqueue_after_commit(session, TaskName.WEBHOOK_DELIVERY, delivery_id)
    cursors.advance(cursor, rows)
    return len(deliveries)


def _delivery_row(endpoint: WebhookEndpoint, row: ActivityEvent, now: datetime) -> dict[str, Any]:
    return {
        "endpoint_id": endpoint.id,
        "activity_id": row.id,
        "kind": row.kind,
        "payload": payload_of(row),
        "status": WebhookDeliveryStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "error": "",
        "created_at": now,
    }


def payload_of(row: ActivityEvent) -> dict[str, Any]:
    """The JSON an endpoint receives for one activity row."""
    return {
        "id": row.id,
        "type": row.kind,
        "occurred_at": row.at.isoformat(),
        "list_id": row.list_id,
        "subscriber_id": row.subscriber_id,
        "campaign_id": row.campaign_id,
        "data": row.data,
    }


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one try sends: the row's id, where, the body and the secret."""

    delivery_id: int
    url: str
    secret: str
    kind: str
    body: bytes
    attempt: int


def claim_attempt(session: Session, delivery_id: int, *, now: datetime) -> Attempt | None:
    """Take a pending, due delivery for one try; None if it is not due or someone has it."""
    claimed = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.status == WebhookDeliveryStatus.PENDING,
            WebhookDelivery.next_attempt_at <= now,
        )
        .values(next_attempt_at=now + CLAIM, attempts=WebhookDelivery.attempts + 1)
    )
    if int(getattr(claimed, "rowcount", 0)) != 1:
        return None
    row = session.execute(
        select(WebhookDelivery, WebhookEndpoint)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.id == delivery_id)
    ).one()
    delivery, endpoint = row
    return Attempt(
        delivery.id,
        endpoint.url,
        endpoint.secret,
        delivery.kind,
        orjson.dumps(delivery.payload),
        delivery.attempts,
    )


@dataclass(frozen=True, slots=True)
class Answer:
    """How a try went: the HTTP status (None without one), an error, the time taken."""

    status: int | None
    error: str
    duration_ms: int
    refused: bool = False
    """Not sent at all: the address is not one Herald may reach (see the error)."""

    @property
    def ok(self) -> bool:
        """A 2xx answer: delivered."""
        return self.status is not None and 200 <= self.status < 300


def post(attempt: Attempt, *, client: httpx.Client | None = None) -> Answer:
    """POST the signed body once (no database work happens during the call).

    Without ``client`` the request goes through :mod:`core.netguard`: only to a
    checked public address unless ``HERALD_ALLOW_PRIVATE_ADDRESSES`` is on.
    """
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Herald-Webhooks/1",
        "Herald-Event": attempt.kind,
        "Herald-Delivery": str(attempt.delivery_id),
        SIGNATURE_HEADER: sign(attempt.secret, attempt.body, int(time.time())),
    }
    started = time.perf_counter()
    own = client is None
    http = client or guarded_client(timeout=TIMEOUT_SECONDS, follow_redirects=False)
    try:
        response = http.post(attempt.url, content=attempt.body, headers=headers)
        error = "" if response.is_success else f"HTTP {response.status_code}"
        return Answer(response.status_code, error, _ms_since(started))
    except AddressRefused as refused:
        # Nothing was sent: say why, and never what the address would have answered.
        return Answer(None, f"refused: {refused}", _ms_since(started), refused=True)
    except (httpx.HTTPError, httpx.InvalidURL) as failure:
        return Answer(None, f"{type(failure).__name__}: {failure}"[:500], _ms_since(started))
    finally:
        if own:
            http.close()


def _ms_since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def record_answer(
    session: Session, attempt: Attempt, answer: Answer, *, now: datetime
) -> float | None:
    """Store how the try went; return seconds until the next try, or None if it is over."""
    values: dict[str, Any] = {
        "response_code": answer.status,
        "error": answer.error,
        "duration_ms": answer.duration_ms,
    }
    retry_in: float | None = None
    if answer.ok:
        values.update(
            status=WebhookDeliveryStatus.DELIVERED, delivered_at=now, next_attempt_at=None
        )
    elif attempt.attempt >= MAX_ATTEMPTS:
        values.update(status=WebhookDeliveryStatus.FAILED, next_attempt_at=None)
    else:
        retry_in = retry_delay(attempt.attempt)
        values.update(next_attempt_at=now + timedelta(seconds=retry_in))
    session.execute(
        update(WebhookDelivery).where(WebhookDelivery.id == attempt.delivery_id).values(values)
    )
    return retry_in


def retry_delay(attempts: int) -> float:
    """Seconds before the next try after ``attempts`` tries: 10 s, 20 s, 40 s… up to an hour."""
    return min(3600.0, FIRST_RETRY_SECONDS * 2.0 ** (attempts - 1))


def overdue_deliveries(session: Session, *, now: datetime, limit: int = 500) -> list[int]:
    """Pending deliveries whose next try is well past due (their task was lost)."""
    return list(
        session.scalars(
            select(WebhookDelivery.id)
            .where(
                WebhookDelivery.status == WebhookDeliveryStatus.PENDING,
                WebhookDelivery.next_attempt_at < now - CLAIM,
            )
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(limit)
        )
    )


def redeliver(session: Session, delivery_id: int) -> None:
    """Send a delivered or failed delivery again, now (an admin's "resend")."""
    session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.status != WebhookDeliveryStatus.PENDING,
        )
        .values(status=WebhookDeliveryStatus.PENDING, next_attempt_at=utcnow(), attempts=0)
    )
    enqueue_after_commit(session, TaskName.WEBHOOK_DELIVERY, delivery_id)
