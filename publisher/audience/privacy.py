"""Privacy requests for one address across both domains: export everything, or erase it.

:mod:`subscribers.privacy` covers the person, their subscriptions, consent, suppression
and activity; this adds what the publisher holds: the deliveries of campaigns to them and
the events providers and our tracking reported about those (user agents, clicked links),
and events naming the address that matched no delivery of ours.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from publisher.campaigns.models import Campaign
from publisher.sending.models import Delivery
from publisher.tracking.models import DeliveryEvent
from subscribers.privacy import (
    Erasure,
    erase_subscriber,
    find_subscriber,
    iso_time,
    subscriber_data,
)


def export_address(session: Session, email: str) -> dict[str, Any]:
    """Everything Herald holds on the normalised address ``email``, as JSON-ready data."""
    data = subscriber_data(session, email)
    person = find_subscriber(session, email)
    data["deliveries"] = _deliveries(session, person.id) if person else []
    data["delivery_events"] = _events(session, email, person.id if person else None)
    return data


def recent_deliveries(session: Session, subscriber_id: int, *, limit: int) -> list[dict[str, Any]]:
    """The subscriber's newest deliveries (campaign, subject, status, outcome)."""
    return _deliveries(session, subscriber_id, limit=limit)


def _deliveries(
    session: Session, subscriber_id: int, *, limit: int | None = None
) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Delivery, Campaign.subject)
        .join(Campaign, Campaign.id == Delivery.campaign_id)
        .where(Delivery.subscriber_id == subscriber_id)
        .order_by(Delivery.id.desc())
        .limit(limit)
    )
    return [
        {
            "campaign_id": d.campaign_id,
            "subject": subject,
            "status": d.status,
            "sent_at": iso_time(d.sent_at),
            "outcome": d.outcome,
            "outcome_at": iso_time(d.outcome_at),
            "opened_at": iso_time(d.opened_at),
            "clicked_at": iso_time(d.clicked_at),
            "provider": d.provider,
            "provider_message_id": d.provider_message_id,
        }
        for d, subject in rows
    ]


def _events(session: Session, email: str, subscriber_id: int | None) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(DeliveryEvent).where(_concerning(email, subscriber_id)).order_by(DeliveryEvent.id)
    )
    return [
        {
            "source": e.source,
            "type": e.type,
            "bounce": e.bounce,
            "campaign_id": e.campaign_id,
            "occurred_at": iso_time(e.occurred_at),
            "machine": e.machine,
            "details": e.details,
        }
        for e in rows
    ]


def _concerning(email: str, subscriber_id: int | None) -> Any:
    theirs = DeliveryEvent.delivery_id.in_(
        select(Delivery.id).where(Delivery.subscriber_id == subscriber_id)
    )
    by_address = DeliveryEvent.recipient == email
    return by_address if subscriber_id is None else or_(by_address, theirs)


def erase_address(session: Session, email: str, *, actor: str) -> Erasure:
    """Forget the normalised address ``email`` everywhere; only its hash stays, suppressed."""
    # Events of the subscriber's own deliveries go with them (cascade); these name the
    # address without a delivery of ours (a bounce of a confirmation email, say).
    session.execute(delete(DeliveryEvent).where(DeliveryEvent.recipient == email))
    return erase_subscriber(session, email, actor=actor)
