"""How long the outgoing-webhook delivery log is kept: finished deliveries pruned in batches.

Only delivered and failed rows go; a pending one is still being retried (retries end within
the hour, see :data:`publisher.webhooks.outgoing.MAX_ATTEMPTS`) and stays until it ends.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from core.retention import BATCH, delete_batch
from publisher.webhooks.models import WebhookDelivery, WebhookDeliveryStatus


def prune_deliveries(session: Session, *, before: datetime, limit: int = BATCH) -> int:
    """Delete up to ``limit`` finished webhook deliveries made before ``before``; how many."""
    old = (WebhookDelivery.created_at < before) & (
        WebhookDelivery.status != WebhookDeliveryStatus.PENDING
    )
    return delete_batch(
        session, WebhookDelivery, where=old, oldest_first=WebhookDelivery.created_at, limit=limit
    )
