"""What the admin reads about outgoing webhooks: the endpoints and their delivery log."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from publisher.webhooks.models import WebhookDelivery, WebhookEndpoint

LOG_SIZE = 100


def all_endpoints(session: Session) -> list[WebhookEndpoint]:
    """Every endpoint, oldest first."""
    return list(session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def get_endpoint(session: Session, endpoint_id: int) -> WebhookEndpoint | None:
    """The endpoint with this id, if any."""
    return session.get(WebhookEndpoint, endpoint_id)


def get_delivery(session: Session, delivery_id: int) -> WebhookDelivery | None:
    """The webhook delivery with this id, if any."""
    return session.get(WebhookDelivery, delivery_id)


def delivery_log(
    session: Session, endpoint_id: int | None = None, *, limit: int = LOG_SIZE
) -> list[WebhookDelivery]:
    """The latest deliveries, newest first: to one endpoint, or to any."""
    query = select(WebhookDelivery).order_by(WebhookDelivery.id.desc()).limit(limit)
    if endpoint_id is not None:
        query = query.where(WebhookDelivery.endpoint_id == endpoint_id)
    return list(session.scalars(query))
