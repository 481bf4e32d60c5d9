"""Retention of the outgoing-webhook log: delivered and failed deliveries past the period go,
pending ones (still retried) and young ones stay (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core.database import unit_of_work, utcnow
from publisher.webhooks.models import WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint
from worker import scheduled

OLD = utcnow() - timedelta(days=31)
YOUNG = utcnow() - timedelta(days=29)


def test_finished_old_deliveries_go_pending_and_young_ones_stay(db: str) -> None:
    rows = [
        (WebhookDeliveryStatus.DELIVERED, OLD),
        (WebhookDeliveryStatus.FAILED, OLD),
        (WebhookDeliveryStatus.PENDING, OLD),
        (WebhookDeliveryStatus.DELIVERED, YOUNG),
        (WebhookDeliveryStatus.FAILED, YOUNG),
    ]
    with unit_of_work() as session:
        endpoint = WebhookEndpoint(url="https://hooks.example/herald", secret="whsec_x")
        session.add(endpoint)
        session.flush()
        for activity_id, (status, at) in enumerate(rows, start=1):
            session.add(
                WebhookDelivery(
                    endpoint_id=endpoint.id,
                    activity_id=activity_id,
                    kind="subscriber.subscribed",
                    status=status,
                    created_at=at,
                )
            )
    assert scheduled.prune_retained(now=utcnow(), batch=1)["webhook_deliveries"] == 2
    with unit_of_work() as session:
        left = set(session.scalars(select(WebhookDelivery.activity_id)))
    assert left == {3, 4, 5}
