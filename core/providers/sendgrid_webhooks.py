"""SendGrid's Signed Event Webhook: verified as SendGrid documents it, then read into events.

Verification: the ``X-Twilio-Email-Event-Webhook-Signature`` header holds a base64 ECDSA
signature (curve P-256, SHA-256, DER-encoded) of the bytes of the
``X-Twilio-Email-Event-Webhook-Timestamp`` header followed by the raw body. The verification
key is the public key SendGrid shows for the webhook: base64 of its DER SubjectPublicKeyInfo
(a PEM-framed copy is accepted too). SendGrid documents no freshness window; Herald refuses a
timestamp more than five minutes from its own clock, either way, so a captured request cannot
be replayed later. Every refusal is a 403 and happens before the body is parsed; without a
usable key (none configured, or not a P-256 public key) every request is refused.

Reading: the body is a JSON array of events (anything else is unreadable). Custom args sent
with the message come back as top-level keys of each of its events, so ``delivery_id`` names
our delivery. ``sg_event_id`` is the event's own id; without one the id is composite (message
id, kind, time, address). ``bounce`` events are permanent (hard) unless their ``type`` is
``blocked``, which SendGrid describes as a temporary refusal (soft). ``sg_machine_open`` marks
an open by Apple's Mail Privacy Protection. ``processed`` (SendGrid took the message, which
the 202 already said), ``group_resubscribe`` and any other kind are left out, as is an item
that is not an event object with an address and a time.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key

from core.providers.events import EventType, ProviderEvent, WebhookRefused
from core.providers.webhook_fields import (
    Bounce,
    address,
    delivery_id_from,
    event_key,
    text,
    unix_seconds,
)

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
TOLERANCE_SECONDS = 300

EVENT_TYPES: dict[str, EventType] = {
    "delivered": EventType.DELIVERED,
    "deferred": EventType.DEFERRED,
    "bounce": EventType.BOUNCED,
    "dropped": EventType.FAILED,
    "spamreport": EventType.COMPLAINED,
    "open": EventType.OPENED,
    "click": EventType.CLICKED,
    "unsubscribe": EventType.UNSUBSCRIBED,
    "group_unsubscribe": EventType.UNSUBSCRIBED,
}
"""SendGrid's event kinds that Herald records, by its own name for them."""

DETAIL_KEYS = (
    "sg_message_id",
    "reason",
    "response",
    "status",
    "type",
    "bounce_classification",
    "attempt",
    "url",
    "useragent",
    "ip",
    "asm_group_id",
)
"""The fields of an event kept as its details, when present."""


class SendGridWebhooks:
    """Verifies and reads SendGrid's signed Event Webhook requests."""

    provider = "sendgrid"

    def __init__(self, public_key: str, *, clock: Callable[[], float] = time.time) -> None:
        """``public_key`` as SendGrid shows it; ``clock`` gives the time in unix seconds."""
        self._key = _usable_key(public_key)
        self._clock = clock

    def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        """Refuse (403) unless SendGrid signed ``body`` at a time close to now (400 when the
        timestamp is no unix time at all)."""
        if self._key is None:
            raise WebhookRefused("SendGrid webhook public key is not configured or not usable")
        signature = headers.get(SIGNATURE_HEADER)
        timestamp = headers.get(TIMESTAMP_HEADER)
        if not signature or not timestamp:
            raise WebhookRefused("SendGrid signature or timestamp header missing")
        self._check_fresh(timestamp)
        try:
            self._key.verify(
                base64.b64decode(signature, validate=True),
                timestamp.encode("ascii") + body,
                ec.ECDSA(hashes.SHA256()),
            )
        except (InvalidSignature, ValueError) as error:
            raise WebhookRefused("SendGrid signature does not match") from error

    def read(self, body: bytes) -> list[ProviderEvent]:
        """The events of a verified body that Herald records, in order.

        Raises ValueError when the body is not a JSON array.
        """
        payload = orjson.loads(body)
        if not isinstance(payload, list):
            raise ValueError("a SendGrid webhook body is a JSON array of events")
        events = (provider_event(item) for item in payload)
        return [event for event in events if event is not None]

    def _check_fresh(self, timestamp: str) -> None:
        seconds = unix_seconds(timestamp)
        if seconds is None:
            raise WebhookRefused("SendGrid timestamp is not a unix time", status=400)
        if abs(self._clock() - seconds) > TOLERANCE_SECONDS:
            raise WebhookRefused("SendGrid timestamp is more than five minutes from now")


def load_public_key(text: str) -> ec.EllipticCurvePublicKey:
    """The P-256 key in ``text`` (base64 DER, or PEM); ValueError for anything else."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = load_pem_public_key(text.encode("ascii"))
    else:
        key = load_der_public_key(base64.b64decode(text, validate=True))
    if not (isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1)):
        raise ValueError("the SendGrid webhook key must be an ECDSA P-256 public key")
    return key


def _usable_key(text: str) -> ec.EllipticCurvePublicKey | None:
    if not text.strip():
        return None
    try:
        return load_public_key(text)
    except ValueError:
        return None  # a key that cannot be read verifies nothing


def provider_event(item: Any) -> ProviderEvent | None:
    """One SendGrid event in Herald's vocabulary; None when Herald does not record it."""
    if not isinstance(item, dict):
        return None
    kind = item.get("event")
    event_type = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    occurred_at = _unix_time(item.get("timestamp"))
    recipient = address(item.get("email"))
    if event_type is None or occurred_at is None or not recipient:
        return None
    return ProviderEvent(
        event_id=_event_id(item),
        type=event_type,
        delivery_id=delivery_id_from(item.get("delivery_id")),
        recipient=recipient,
        occurred_at=occurred_at,
        bounce=_bounce(item) if event_type == EventType.BOUNCED else "",
        machine=event_type == EventType.OPENED and item.get("sg_machine_open") is True,
        details={key: item[key] for key in DETAIL_KEYS if key in item},
    )


def _bounce(item: dict[str, Any]) -> Bounce:
    return "soft" if item.get("type") == "blocked" else "hard"


def _event_id(item: dict[str, Any]) -> str:
    """``sg_event_id``; without one, the message, kind, time and address together."""
    event_id = text(item.get("sg_event_id"))
    if event_id:
        return event_id
    parts = (item.get(key, "") for key in ("sg_message_id", "event", "timestamp", "email"))
    return event_key("sendgrid", *parts, payload=item)


def _unix_time(value: Any) -> datetime | None:
    """A unix time in seconds (a number, or digits) as an aware UTC datetime."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None
