"""Resend's webhooks: signed with Svix, one JSON event per request.

Verification follows Svix's documented algorithm, by hand: the signed content is
``{svix-id}.{svix-timestamp}.{raw body}``, signed with HMAC-SHA256 under the base64-decoded
part of the ``whsec_…`` secret; ``svix-signature`` holds one or more space-separated
``v1,<base64 signature>`` (several while a secret is being rotated), any one of which may
match, compared in constant time. A timestamp more than five minutes from our clock is refused,
so a captured request cannot be replayed later. Without a secret every request is refused.

Events are read by ``type``: ``email.delivered``, ``email.delivery_delayed`` (deferred),
``email.bounced`` (hard for ``Permanent``, soft for ``Transient`` and ``Undetermined``, hard when
the payload names no type: the event means a permanent rejection), ``email.complained``,
``email.opened``, ``email.clicked``, ``email.failed`` and ``email.suppressed`` (both failed).
Our delivery is named by the ``delivery_id`` tag. The ``svix-id`` is not part of the body, so
the event id is composite: type, email id and the event's own ``created_at`` (the same on every
retry), and the link for a click. Resend documents no flag for machine opens or clicks.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
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
    unix_seconds,
)

TOLERANCE_SECONDS = 5 * 60
SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of every secret, not a secret

EVENT_TYPES: dict[str, EventType] = {
    "email.delivered": EventType.DELIVERED,
    "email.delivery_delayed": EventType.DEFERRED,
    "email.bounced": EventType.BOUNCED,
    "email.complained": EventType.COMPLAINED,
    "email.opened": EventType.OPENED,
    "email.clicked": EventType.CLICKED,
    "email.failed": EventType.FAILED,
    "email.suppressed": EventType.FAILED,
}
# Resend's bounce types (its "email bounces" page): Permanent is a hard bounce, Transient a
# soft one; Undetermined bounced without saying why, so it is not reason enough to suppress.
BOUNCE_TYPES: dict[str, Bounce] = {
    "permanent": "hard",
    "transient": "soft",
    "temporary": "soft",
    "undetermined": "soft",
}


class ResendWebhooks:
    """Verifies Svix signatures of Resend's webhooks and reads them into Herald's events."""

    provider = "resend"

    def __init__(self, secret: str, *, clock: Callable[[], float] = time.time) -> None:
        self._key = _signing_key(secret)
        self._clock = clock

    def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        """Refuse (403) without a usable secret, (400) a timestamp that is no unix time,
        (401) unless a signature matches in time."""
        if self._key is None:
            raise WebhookRefused("Resend webhook secret is not configured", status=403)
        message_id = headers.get("svix-id", "")
        timestamp = headers.get("svix-timestamp", "")
        signatures = headers.get("svix-signature", "")
        if not (message_id and timestamp and signatures):
            raise WebhookRefused("Svix signature headers are missing", status=401)
        seconds = unix_seconds(timestamp)
        if seconds is None:
            raise WebhookRefused("Svix timestamp is not a unix time", status=400)
        if abs(self._clock() - seconds) > TOLERANCE_SECONDS:
            raise WebhookRefused("Svix timestamp is too old (or from the future)", status=401)
        expected = sign(self._key, message_id, timestamp, body)
        if not _any_matches(signatures, expected):
            raise WebhookRefused("no valid Svix signature", status=401)

    def read(self, body: bytes) -> list[ProviderEvent]:
        """The event of a verified body (none for event types Herald does not use)."""
        payload = orjson.loads(body)
        if not isinstance(payload, dict):
            raise ValueError("a Resend webhook body is a JSON object")
        event = read_event(payload)
        return [] if event is None else [event]


def _signing_key(secret: str) -> bytes | None:
    encoded = secret.strip().removeprefix(SECRET_PREFIX)
    if not encoded:
        return None
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None  # a secret that cannot be decoded verifies nothing


def sign(key: bytes, message_id: str, timestamp: str, body: bytes) -> bytes:
    """The base64 Svix signature of a request (without its ``v1,`` prefix)."""
    content = f"{message_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(key, content, hashlib.sha256).digest())


def _any_matches(signatures: str, expected: bytes) -> bool:
    matched = False
    for entry in signatures.split():
        version, _, signature = entry.partition(",")
        # Every entry is compared, so timing does not tell which one matched.
        if version == "v1" and hmac.compare_digest(signature.encode(), expected):
            matched = True
    return matched


def read_event(payload: dict[str, Any]) -> ProviderEvent | None:
    """One Resend webhook event as Herald's, or None for types Herald does not use."""
    kind = text(payload.get("type"))
    event_type = EVENT_TYPES.get(kind)
    data = payload.get("data")
    if event_type is None or not isinstance(data, dict):
        return None
    created_at = text(payload.get("created_at"))
    click = _object(data.get("click"))
    link = text(click.get("link"))
    parts = [text(data.get("email_id")), created_at, *([link] if link else [])]
    return ProviderEvent(
        event_id=event_key(kind, *parts, payload=payload),
        type=event_type,
        delivery_id=delivery_id_from(_tags(data.get("tags")).get("delivery_id")),
        recipient=_first_recipient(data.get("to")),
        occurred_at=parse_time(click.get("timestamp") or created_at, default=utcnow()),
        bounce=_bounce(data.get("bounce")) if event_type == EventType.BOUNCED else "",
        details=_details(data, link),
    )


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _tags(tags: Any) -> dict[str, Any]:
    """Tags as a mapping: webhooks carry an object; the send API's list shape is read too."""
    if isinstance(tags, dict):
        return tags
    if isinstance(tags, list):
        return {text(tag.get("name")): tag.get("value") for tag in tags if isinstance(tag, dict)}
    return {}


def _first_recipient(to: Any) -> str:
    if isinstance(to, list) and to:
        return address(to[0])
    return address(to)


def _bounce(bounce: Any) -> Bounce:
    # Without a type Resend's own meaning holds: "permanently rejected".
    return BOUNCE_TYPES.get(text(_object(bounce).get("type")).lower(), "hard")


def _details(data: dict[str, Any], link: str) -> dict[str, Any]:
    details: dict[str, Any] = {"email_id": text(data.get("email_id"))}
    for name in ("bounce", "failed", "suppressed"):
        if isinstance(data.get(name), dict):
            details[name] = data[name]
    if link:
        details["link"] = link
    return details
