"""The headers mailbox providers look for on every message Herald sends.

- ``From``: the configured name, else the organisation's (the name the masthead shows);
  ``Reply-To`` where one is configured.
- ``List-Unsubscribe``: the per-recipient one-click https link, plus a ``mailto:`` only when
  a mailbox the organisation processes is configured (Herald reads no mail);
  ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058).
- ``List-Id`` (RFC 2919): ``<slug.lists.domain>``, with the list's name as phrase when ASCII.
- ``Feedback-ID`` in Gmail's form ``campaign:list:kind:sender``.
- ``Content-Language``: the language the content was compiled in.
- ``Message-ID``: random per attempt (so installs never collide) and the same in every replay
  of that attempt, on the From address's domain.

All values are ASCII and written literally by :mod:`core.mime`.
"""

from __future__ import annotations

import re

from core.message import Mailbox
from core.mime import phrase
from core.settings import Settings

FALLBACK_DOMAIN = "herald.localhost"
ONE_CLICK = "List-Unsubscribe=One-Click"

# What may stand in one part of a dot-atom or a Feedback-ID field.
_UNSAFE = re.compile(r"[^A-Za-z0-9-]+")


def sender(settings: Settings) -> Mailbox:
    """The From mailbox: the configured name, else the organisation's name."""
    return Mailbox(settings.from_email, settings.from_name or settings.organisation_name)


def reply_to(settings: Settings) -> tuple[Mailbox, ...]:
    """The configured Reply-To, or none."""
    if not settings.reply_to:
        return ()
    return (Mailbox(settings.reply_to, settings.reply_to_name),)


def sender_domain(settings: Settings) -> str:
    """The domain of the From address, for Message-IDs and List-Ids."""
    return settings.from_email.rpartition("@")[2] or FALLBACK_DOMAIN


def unsubscribe_headers(unsubscribe_url: str, token: str, settings: Settings) -> dict[str, str]:
    """``List-Unsubscribe`` (https, and mailto when configured) and ``List-Unsubscribe-Post``."""
    targets = [f"<{unsubscribe_url}>"]
    if settings.unsubscribe_mailto:
        # The token in the subject tells whoever reads the mailbox who asked.
        targets.append(f"<mailto:{settings.unsubscribe_mailto}?subject=unsubscribe%20{token}>")
    return {"List-Unsubscribe": ", ".join(targets), "List-Unsubscribe-Post": ONE_CLICK}


def list_id(slug: str, name: str, settings: Settings) -> str:
    """``Name <slug.lists.domain>``; the name only when ASCII, quoted when it needs to be."""
    identifier = f"<{_atom(slug)}.lists.{sender_domain(settings)}>"
    if not (name.isascii() and name.isprintable() and name.strip()):
        return identifier
    return f"{phrase(' '.join(name.split()))} {identifier}"


def feedback_id(campaign: str, list_slug: str, kind: str, settings: Settings) -> str:
    """Gmail's ``Feedback-ID``: ``campaign:list:kind:sender``, no colon inside a field."""
    fields = (campaign, list_slug, kind, settings.feedback_id_sender)
    return ":".join(_atom(field) for field in fields)


def message_id(parts: tuple[object, ...], settings: Settings) -> str:
    """``<herald.part.part…@domain>`` from parts that make it unique (an attempt id, say)."""
    local = ".".join(_atom(str(part)) for part in ("herald", *parts))
    return f"<{local}@{sender_domain(settings)}>"


def _atom(text: str) -> str:
    return _UNSAFE.sub("-", text).strip("-") or "x"
