"""The email message Herald sends: one rendered message to one recipient.

Providers receive :class:`OutgoingMessage`; those that take raw MIME (outbox, SMTP, SES,
Mailgun) write it with :func:`core.mime.to_wire`, the HTTP APIs map the fields to their JSON
(a mailbox as header text with :func:`core.mime.formatted_mailbox`). This module holds only
the data: the MIME writer builds on it, never the other way round.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Mailbox:
    """An address with an optional display name (any script)."""

    email: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One rendered message to one recipient.

    ``key`` is our own id for the message (a delivery id): providers send it as metadata so
    events come back to it, and use it as the idempotency key where the API has one.
    ``headers`` are structured headers (List-Unsubscribe, List-Id, Feedback-ID …), written
    literally; ``reply_to`` is its own field because every HTTP API has one for it.
    """

    key: str
    sender: Mailbox
    to: Mailbox
    subject: str
    html: str
    text: str
    message_id: str
    headers: Mapping[str, str] = field(default_factory=dict)
    metadata: Mapping[str, str] = field(default_factory=dict)
    transactional: bool = False
    reply_to: tuple[Mailbox, ...] = ()
