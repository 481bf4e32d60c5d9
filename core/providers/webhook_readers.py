"""Which reader verifies a provider's webhooks, and what every reader shares.

:func:`webhook_reader` maps the provider named in the webhook URL to its reader, built from the
settings; an unknown provider has none. The helpers below are the parts of reading that do not
depend on the provider: our delivery id from metadata, timestamps, composite event ids.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

from core.providers.events import WebhookReader
from core.settings import Settings

MAX_EVENT_ID_LENGTH = 200
"""The length of ``delivery_events.event_id``; longer composite keys are hashed."""
_MAX_DELIVERY_ID = 2**63 - 1

Bounce = Literal["", "hard", "soft"]
"""The kind of a bounce event ("" for every other event)."""


def _postmark(settings: Settings) -> WebhookReader:
    # Imported here: the readers use this module's helpers, so it cannot import them first.
    from core.providers.postmark_webhooks import PostmarkWebhookReader

    return PostmarkWebhookReader(settings.postmark_webhook_user, settings.postmark_webhook_password)


def _resend(settings: Settings) -> WebhookReader:
    from core.providers.resend_webhooks import ResendWebhookReader

    return ResendWebhookReader(settings.resend_webhook_secret)


def _sendgrid(settings: Settings) -> WebhookReader:
    from core.providers.sendgrid_webhooks import SendGridWebhooks

    return SendGridWebhooks(settings.sendgrid_webhook_public_key)


def _mailgun(settings: Settings) -> WebhookReader:
    # Seen tokens in Redis when there is one (several web processes), else in this process.
    from core.providers.mailgun_webhooks import MailgunWebhooks, shared_tokens

    return MailgunWebhooks(
        settings.mailgun_webhook_signing_key, shared_tokens(settings.shared_redis_url)
    )


def _ses(settings: Settings) -> WebhookReader:
    from core.providers.ses_webhooks import SesWebhooks

    return SesWebhooks(settings.ses_sns_topic_arn)


_READERS: dict[str, Callable[[Settings], WebhookReader]] = {
    "postmark": _postmark,
    "resend": _resend,
    "sendgrid": _sendgrid,
    "mailgun": _mailgun,
    "ses": _ses,
}


def webhook_reader(provider: str, settings: Settings) -> WebhookReader | None:
    """The reader of ``provider``'s webhooks, or None for a provider Herald does not know."""
    build = _READERS.get(provider)
    return None if build is None else build(settings)


def known_providers() -> list[str]:
    """The providers whose webhooks Herald reads."""
    return sorted(_READERS)


def delivery_id_from(value: Any) -> int | None:
    """Our delivery id as sent in a message's metadata or tags, or None if it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit():
        number = int(value)
    else:
        return None
    return number if 0 < number <= _MAX_DELIVERY_ID else None


def parse_time(value: Any, *, default: datetime) -> datetime:
    """An ISO 8601 timestamp as an aware UTC datetime (naive ones are UTC), else ``default``."""
    if not isinstance(value, str) or not value:
        return default
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return default
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def unix_seconds(value: str) -> int | None:
    """``value`` as whole Unix seconds, or None unless it is 1 to 12 ASCII digits.

    Twelve digits reach the year 33658: anything longer is no signing time, and turning
    hundreds of digits into a number to subtract from a float clock overflows.
    """
    if 0 < len(value) <= 12 and value.isascii() and value.isdigit():
        return int(value)
    return None


def event_key(kind: str, *parts: object, payload: Mapping[str, Any]) -> str:
    """A composite event id ``kind:part:…`` for a provider that gives none.

    When a part is missing, the id is a digest of the whole payload instead, which a retry
    repeats exactly; a key longer than the column is hashed so it still fits.
    """
    if any(part is None or part == "" for part in parts):
        return f"{kind}:digest:{_digest(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS))}"
    key = ":".join([kind, *(str(part) for part in parts)])
    if len(key) <= MAX_EVENT_ID_LENGTH:
        return key
    return f"{kind}:sha256:{_digest(key.encode())}"


def _digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def text(value: Any) -> str:
    """A string field of a payload, or "" when it is absent or not a string."""
    return value if isinstance(value, str) else ""


def address(value: Any) -> str:
    """An email address from a payload, trimmed and lower-cased as Herald stores them."""
    return text(value).strip().lower()
