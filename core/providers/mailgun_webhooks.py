"""Mailgun's event webhooks: verified as Mailgun specifies, then read into provider events.

Mailgun posts one event per request, as JSON::

    {"signature": {"timestamp": "1770920772", "token": "<50 characters>",
                   "signature": "<hex>"},
     "event-data": {"event": "delivered", "id": "...", "timestamp": 1770920772.5, ...}}

The signature sits inside the body, so verifying needs the JSON parsed, but only the
``signature`` object is looked at before the request is trusted. It is the hex
HMAC-SHA256, keyed with the webhook signing key, of ``timestamp`` and ``token`` concatenated
with no separator, compared in constant time. It covers neither the body nor the event: a
signature seen once (a logged or intercepted request) would vouch for any ``event-data`` sent
with it. So each token is honoured once (:class:`SeenTokens`, the replay protection Mailgun
suggests; by default in this process's memory) and a timestamp more than five minutes from
now is refused. Mailgun warns that its webhook processing can be delayed: a request it holds
back longer than that is refused like a replay.

Every request failing verification is refused with 401; without a signing key, every request
is refused with 403.

Events map by ``event-data.event``: ``failed`` with severity ``permanent`` is a hard bounce,
with ``temporary`` a deferral (a soft bounce Mailgun retries), without one a failure;
``rejected`` (Mailgun refused to send) is a failure; ``accepted`` and unknown kinds are left
out. Our delivery is ``user-variables.delivery_id`` (the ``v:delivery_id`` the adapter sent).
Mailgun guarantees an event id to be unique only within a day, so the event id is composite:
kind, Mailgun's id and the event's timestamp, the same whenever Mailgun posts the event again.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Protocol, TypeGuard

import orjson
import redis

from core.database import utcnow
from core.providers.events import EventType, ProviderEvent, WebhookRefused
from core.providers.webhook_fields import Bounce, address, delivery_id_from, event_key, text

MAX_AGE_SECONDS = 300
MAX_SEEN_TOKENS = 100_000

_FAILURES: dict[str, tuple[EventType, Bounce]] = {
    "permanent": (EventType.BOUNCED, "hard"),
    "temporary": (EventType.DEFERRED, "soft"),
}
_SIMPLE_EVENTS: dict[str, EventType] = {
    "delivered": EventType.DELIVERED,
    "opened": EventType.OPENED,
    "clicked": EventType.CLICKED,
    "unsubscribed": EventType.UNSUBSCRIBED,
    "complained": EventType.COMPLAINED,
    "rejected": EventType.FAILED,
}


class SeenTokens(Protocol):
    """Remembers webhook tokens, so a signed request is honoured only once."""

    def first_time(self, token: str, ttl_seconds: int) -> bool:
        """Record ``token`` for ``ttl_seconds``; False if it was already recorded and alive."""
        ...


class RedisSeenTokens:
    """Seen tokens in Redis, shared by every web process on every machine."""

    def __init__(self, url: str) -> None:
        self._redis = redis.Redis.from_url(url)

    def first_time(self, token: str, ttl_seconds: int) -> bool:
        """Record ``token`` (SET NX with expiry: atomic); False if another request had it."""
        key = f"herald:mailgun:webhook-token:{token}"
        return bool(self._redis.set(key, b"1", nx=True, ex=max(1, ttl_seconds)))


@lru_cache(maxsize=4)
def shared_tokens(redis_url: str) -> SeenTokens:
    """The seen-token store of this process: Redis when there is one, else in memory."""
    return RedisSeenTokens(redis_url) if redis_url else PROCESS_TOKENS


class MemorySeenTokens:
    """Tokens of this process only, each kept ``ttl_seconds``, at most ``max_tokens`` at once.

    Several web processes need a shared store instead (a replay could reach another one).
    When full, the oldest tokens are forgotten first.
    """

    def __init__(
        self, max_tokens: int = MAX_SEEN_TOKENS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._max_tokens = max_tokens
        self._clock = clock
        self._expiry: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, token: str, ttl_seconds: int) -> bool:
        """Record ``token``; False if it was recorded before and has not expired."""
        with self._lock:
            now = self._clock()
            self._forget_expired(now)
            expires = self._expiry.get(token)
            if expires is not None and expires > now:
                return False
            self._expiry[token] = now + ttl_seconds
            self._expiry.move_to_end(token)
            while len(self._expiry) > self._max_tokens:
                self._expiry.popitem(last=False)
            return True

    def __len__(self) -> int:
        return len(self._expiry)

    def _forget_expired(self, now: float) -> None:
        while self._expiry:
            token, expires = next(iter(self._expiry.items()))
            if expires > now:
                return
            del self._expiry[token]


PROCESS_TOKENS = MemorySeenTokens()
"""The tokens this process has honoured, shared by every reader built without a store of its
own (the web app builds a reader per request)."""


@dataclass(frozen=True, slots=True)
class Signature:
    """The ``signature`` object of a webhook request."""

    timestamp: str
    token: str
    signature: str


class MailgunWebhooks:
    """Verifies and reads Mailgun's webhook requests (see the module docstring)."""

    provider = "mailgun"

    def __init__(
        self,
        signing_key: str,
        seen: SeenTokens | None = None,
        *,
        max_age_seconds: int = MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = signing_key.encode()
        self._seen = seen if seen is not None else PROCESS_TOKENS
        self._max_age = max_age_seconds
        self._clock = clock

    def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        """Refuse (403) without a signing key, (401) unless signed, fresh and not used before.

        ``headers`` are not used: Mailgun signs inside the body.
        """
        if not self._key:
            raise WebhookRefused("Mailgun webhook signing key is not configured", status=403)
        signature = signature_of(body)
        if not hmac.compare_digest(self.expected(signature).encode(), signature.signature.encode()):
            raise WebhookRefused("the Mailgun signature does not match", status=401)
        if abs(self._clock() - int(signature.timestamp)) > self._max_age:
            raise WebhookRefused(
                "the Mailgun signature is too old (or from the future)", status=401
            )
        # Recorded only once verified, so forged requests cannot fill the store. A token is kept
        # as long as its timestamp can pass the check above, on either side of now.
        if not self._seen.first_time(signature.token, ttl_seconds=2 * self._max_age):
            raise WebhookRefused("this Mailgun signature was already used", status=401)

    def expected(self, signature: Signature) -> str:
        """The hex HMAC-SHA256 of timestamp and token under our signing key."""
        message = f"{signature.timestamp}{signature.token}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def read(self, body: bytes) -> list[ProviderEvent]:
        """The event of a verified body; none for ``accepted`` and kinds Herald does not use."""
        payload = orjson.loads(body)
        data = payload.get("event-data") if isinstance(payload, dict) else None
        if not isinstance(data, dict):
            raise ValueError("a Mailgun webhook body is a JSON object with an event-data object")
        event = read_event(data)
        return [] if event is None else [event]


def signature_of(body: bytes) -> Signature:
    """The ``signature`` object of ``body``; refused (401) if missing or malformed."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise WebhookRefused("not a Mailgun webhook: the body is not JSON", status=401) from error
    block = _object(_object(payload).get("signature"))
    timestamp, token, signature = (block.get(name) for name in ("timestamp", "token", "signature"))
    if isinstance(timestamp, int) and not isinstance(timestamp, bool):
        timestamp = str(timestamp)  # documented as an int, sent as a string: accept both
    if _digits(timestamp) and _filled(token) and _filled(signature):
        return Signature(timestamp, token, signature)
    raise WebhookRefused("the Mailgun signature is missing or malformed", status=401)


def read_event(data: dict[str, Any]) -> ProviderEvent | None:
    """``event-data`` as Herald's event; None for kinds Herald does not use."""
    name = text(data.get("event"))
    kind = _kind(name, data.get("severity"))
    if kind is None:
        return None
    event_type, bounce = kind
    variables = _object(data.get("user-variables"))
    return ProviderEvent(
        event_id=event_key(name, text(data.get("id")), data.get("timestamp"), payload=data),
        type=event_type,
        delivery_id=delivery_id_from(variables.get("delivery_id")),
        recipient=address(data.get("recipient")),
        occurred_at=_occurred_at(data.get("timestamp")),
        bounce=bounce,
        details=_details(data, variables),
    )


def _kind(name: str, severity: Any) -> tuple[EventType, Bounce] | None:
    if name == "failed":
        return _FAILURES.get(text(severity), (EventType.FAILED, ""))
    event_type = _SIMPLE_EVENTS.get(name)
    return None if event_type is None else (event_type, "")


def _occurred_at(value: Any) -> datetime:
    """Mailgun's float Unix time; now if it is missing or unusable."""
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(float(value), tz=UTC)
        except (ValueError, OverflowError, OSError):
            pass
    return utcnow()


def _details(data: dict[str, Any], variables: dict[str, Any]) -> dict[str, Any]:
    """What an admin may want to see: why it failed, the link, our ids, Mailgun's message id."""
    status = _object(data.get("delivery-status"))
    headers = _object(_object(data.get("message")).get("headers"))
    found = {
        "mailgun_event": data.get("event"),
        "severity": data.get("severity"),
        "reason": data.get("reason"),
        "code": status.get("code"),
        "smtp_message": status.get("message"),
        "description": status.get("description"),
        "link": data.get("url"),
        "message_id": headers.get("message-id"),
        "campaign_id": variables.get("campaign_id"),
        "herald_key": variables.get("herald_key"),
    }
    return {name: value for name, value in found.items() if value not in (None, "")}


def _digits(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and 0 < len(value) <= 20 and value.isascii() and value.isdigit()


def _filled(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and bool(value)


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
