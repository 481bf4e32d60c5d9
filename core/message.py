"""The email message Herald sends, and its MIME form (multipart/alternative, UTF-8).

Providers receive :class:`OutgoingMessage`; those that take raw MIME (outbox, SMTP) call
:func:`to_mime`, the HTTP APIs map the fields to their JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from core.database import utcnow


@dataclass(frozen=True, slots=True)
class Mailbox:
    """An address with an optional display name (any script)."""

    email: str
    name: str = ""

    def formatted(self) -> str:
        """RFC 5322 form, with a non-ASCII name encoded per RFC 2047."""
        return formataddr((self.name, self.email), charset="utf-8")


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One rendered message to one recipient.

    ``key`` is our own id for the message (a delivery id): providers send it as metadata so
    events come back to it, and use it as the idempotency key where the API has one.
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


def to_mime(message: OutgoingMessage) -> EmailMessage:
    """The message as MIME: headers encoded per RFC 2047, a text part and an HTML part."""
    mime = EmailMessage()
    mime["From"] = _address(message.sender)
    mime["To"] = _address(message.to)
    mime["Subject"] = message.subject
    mime["Date"] = format_datetime(utcnow())
    mime["Message-ID"] = message.message_id
    for name, value in message.headers.items():
        mime[name] = value
    mime.set_content(message.text, subtype="plain", charset="utf-8")
    mime.add_alternative(message.html, subtype="html", charset="utf-8")
    return mime


def _address(mailbox: Mailbox) -> Address:
    username, _, domain = mailbox.email.rpartition("@")
    return Address(display_name=mailbox.name, username=username, domain=domain)
