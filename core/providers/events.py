"""What comes back from providers: verified webhook requests turned into one vocabulary.

Each provider has a :class:`WebhookReader` that first verifies a request exactly as the
provider specifies, on the raw body and before parsing anything (a forged request is refused
with :class:`WebhookRefused` and changes nothing), then reads the body into
:class:`ProviderEvent` values that name our delivery by the id we sent as metadata.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, Protocol


class EventType(StrEnum):
    """What happened to a message: the one list of event types, stored in ``delivery_events``."""

    DELIVERED = "delivered"
    DEFERRED = "deferred"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    OPENED = "opened"
    CLICKED = "clicked"
    UNSUBSCRIBED = "unsubscribed"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ProviderEvent:
    """One thing that happened to one message, in Herald's vocabulary."""

    event_id: str
    """The provider's own event id, or a composite key where it has none (deduplication)."""
    type: EventType
    delivery_id: int | None
    """Our delivery id from the message's metadata; None when the message was not ours."""
    recipient: str
    occurred_at: datetime
    bounce: Literal["", "hard", "soft"] = ""
    machine: bool = False
    """An open or click by a mail-privacy proxy or link scanner, not by a person."""
    details: dict[str, Any] = field(default_factory=dict)


class WebhookRefused(Exception):
    """The request failed verification: answer ``status`` (401 or 403) and change nothing."""

    def __init__(self, reason: str, *, status: int = 403) -> None:
        super().__init__(reason)
        self.status = status


class WebhookReader(Protocol):
    """Verifies and reads one provider's webhook requests."""

    provider: str

    def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        """Raise :class:`WebhookRefused` unless the request really comes from the provider.

        ``headers`` is case-insensitive (a Starlette or httpx ``Headers``).
        """
        ...

    def read(self, body: bytes) -> list[ProviderEvent]:
        """The events of a verified body (unknown event kinds are left out)."""
        ...
