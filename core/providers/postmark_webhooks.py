"""Postmark's webhooks: HTTP basic auth from the webhook URL, one JSON record per request.

Postmark does not sign its webhooks. It authenticates them with the credentials written into
the webhook URL (``https://user:password@host/webhooks/postmark``), sent as HTTP basic auth,
and optionally by the IP addresses it posts from (allow-list those in front of Herald). Without
configured credentials every request is refused: an unauthenticated webhook could suppress
anyone.

Records are read by ``RecordType``: ``Delivery``, ``Bounce`` (by its ``Type``, see
:data:`BOUNCE_TYPES`), ``SpamComplaint``, ``Open``, ``Click`` and ``SubscriptionChange`` (by its
``SuppressionReason``; reactivations are left out). Postmark has no event id for most records,
so the event id is composite: the record type with the bounce ``ID``, or with the message id
and the record's own timestamp. Our delivery is named by ``Metadata.delivery_id``. Postmark
documents no flag for opens by mail-privacy proxies (Apple Mail Privacy Protection), so no open
or click is marked as a machine's. A JSON array of records is read too (a bulk replay).
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from core.database import utcnow
from core.providers.events import EventType, ProviderEvent, WebhookRefused
from core.providers.webhook_fields import (
    Bounce,
    address,
    delivery_id_from,
    event_key,
    parse_time,
    text,
)

Record = dict[str, Any]

# Postmark's bounce types (Bounce API, "Bounce types"), as Herald's event and bounce kind.
# Hard: the address does not exist or Postmark deactivated it. Soft: this message did not
# arrive but the address may work later. Transient and DNS errors are delays Postmark retries.
# Replies that say nothing about delivery (auto-responders, subscribe requests, relay tests,
# inbound errors) are left out.
BOUNCE_TYPES: dict[str, tuple[EventType, Bounce]] = {
    "HardBounce": (EventType.BOUNCED, "hard"),
    "BadEmailAddress": (EventType.BOUNCED, "hard"),
    "ManuallyDeactivated": (EventType.BOUNCED, "hard"),
    "SoftBounce": (EventType.BOUNCED, "soft"),
    "Blocked": (EventType.BOUNCED, "soft"),
    "DMARCPolicy": (EventType.BOUNCED, "soft"),
    "SpamNotification": (EventType.BOUNCED, "soft"),
    "VirusNotification": (EventType.BOUNCED, "soft"),
    "ChallengeVerification": (EventType.BOUNCED, "soft"),
    "Unknown": (EventType.BOUNCED, "soft"),
    "Transient": (EventType.DEFERRED, ""),
    "DnsError": (EventType.DEFERRED, ""),
    "SpamComplaint": (EventType.COMPLAINED, ""),
    "Unsubscribe": (EventType.UNSUBSCRIBED, ""),
    "SMTPApiError": (EventType.FAILED, ""),
    "TemplateRenderingFailed": (EventType.FAILED, ""),
    "Unconfirmed": (EventType.FAILED, ""),
}
_NOT_ABOUT_DELIVERY = {
    "AutoResponder",
    "Subscribe",
    "AddressChange",
    "OpenRelayTest",
    "InboundError",
}
SUPPRESSION_REASONS: dict[str, tuple[EventType, Bounce]] = {
    "HardBounce": (EventType.BOUNCED, "hard"),
    "SpamComplaint": (EventType.COMPLAINED, ""),
    "ManualSuppression": (EventType.UNSUBSCRIBED, ""),  # what a recipient's unsubscribe becomes
}


class PostmarkWebhooks:
    """Verifies Postmark's basic auth and reads its records into Herald's events."""

    provider = "postmark"

    def __init__(self, user: str, password: str) -> None:
        self._user = user.encode()
        self._password = password.encode()

    def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        """Refuse (403) when no credentials are configured, (401) unless they were sent."""
        if not self._user or not self._password:
            raise WebhookRefused("Postmark webhook credentials are not configured", status=403)
        sent = _basic_credentials(headers.get("authorization", ""))
        if sent is None:
            raise WebhookRefused("Postmark webhook needs HTTP basic auth", status=401)
        # Both compared, always, in constant time: timing tells nothing about which was wrong.
        user_ok = secrets.compare_digest(sent[0], self._user)
        password_ok = secrets.compare_digest(sent[1], self._password)
        if not (user_ok and password_ok):
            raise WebhookRefused("wrong Postmark webhook credentials", status=401)

    def read(self, body: bytes) -> list[ProviderEvent]:
        """The events of a verified body: one record, or an array of records."""
        payload = orjson.loads(body)
        records = payload if isinstance(payload, list) else [payload]
        events = (read_record(record) for record in records if isinstance(record, dict))
        return [event for event in events if event is not None]


def _basic_credentials(authorization: str) -> tuple[bytes, bytes] | None:
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, colon, password = decoded.partition(b":")
    return (user, password) if colon else None


def read_record(record: Record) -> ProviderEvent | None:
    """One Postmark webhook record as an event, or None for records Herald does not use."""
    reader = _RECORD_READERS.get(text(record.get("RecordType")))
    return None if reader is None else reader(record)


def _event(
    record: Record,
    event_type: EventType,
    event_id: str,
    at: str,
    *,
    bounce: Bounce = "",
    details: dict[str, Any],
) -> ProviderEvent:
    metadata = record.get("Metadata")
    ours = metadata.get("delivery_id") if isinstance(metadata, dict) else None
    return ProviderEvent(
        event_id=event_id,
        type=event_type,
        delivery_id=delivery_id_from(ours),
        recipient=address(record.get("Recipient") or record.get("Email")),
        occurred_at=parse_time(at, default=utcnow()),
        bounce=bounce,
        details={"message_id": text(record.get("MessageID")), **details},
    )


def _delivery(record: Record) -> ProviderEvent:
    at = text(record.get("DeliveredAt"))
    key = event_key("Delivery", text(record.get("MessageID")), at, payload=record)
    return _event(
        record, EventType.DELIVERED, key, at, details={"smtp": text(record.get("Details"))}
    )


def _bounce(record: Record) -> ProviderEvent | None:
    kind = text(record.get("Type"))
    if kind in _NOT_ABOUT_DELIVERY:
        return None
    event_type, bounce = BOUNCE_TYPES.get(kind, (EventType.BOUNCED, "soft"))
    key = event_key(text(record.get("RecordType")), record.get("ID"), payload=record)
    details = {"type": kind, "smtp": text(record.get("Details"))}
    at = text(record.get("BouncedAt"))
    return _event(record, event_type, key, at, bounce=bounce, details=details)


def _tracking(event_type: EventType) -> Callable[[Record], ProviderEvent]:
    def read(record: Record) -> ProviderEvent:
        at = text(record.get("ReceivedAt"))
        link = text(record.get("OriginalLink"))
        # One click event per link: two links clicked in the same instant are two events.
        parts = [text(record.get("MessageID")), at, *([link] if link else [])]
        key = event_key(text(record.get("RecordType")), *parts, payload=record)
        return _event(record, event_type, key, at, details=_reader_details(record, link))

    return read


def _reader_details(record: Record, link: str) -> dict[str, Any]:
    client = record.get("Client")
    details: dict[str, Any] = {
        "platform": text(record.get("Platform")),
        "client": text(client.get("Name")) if isinstance(client, dict) else "",
    }
    if link:
        details["link"] = link
    if "FirstOpen" in record:
        details["first_open"] = record.get("FirstOpen") is True
    return details


def _subscription_change(record: Record) -> ProviderEvent | None:
    if record.get("SuppressSending") is not True:
        return None  # a reactivation: Herald does not lift its own suppressions for it
    reason = text(record.get("SuppressionReason"))
    event_type, bounce = SUPPRESSION_REASONS.get(reason, (EventType.UNSUBSCRIBED, ""))
    at = text(record.get("ChangedAt"))
    who = text(record.get("MessageID")) or address(record.get("Recipient"))
    details = {"reason": reason, "origin": text(record.get("Origin"))}
    key = event_key("SubscriptionChange", who, at, payload=record)
    return _event(record, event_type, key, at, bounce=bounce, details=details)


_RECORD_READERS: dict[str, Callable[[Record], ProviderEvent | None]] = {
    "Delivery": _delivery,
    "Bounce": _bounce,
    "SpamComplaint": _bounce,
    "Open": _tracking(EventType.OPENED),
    "Click": _tracking(EventType.CLICKED),
    "SubscriptionChange": _subscription_change,
}
