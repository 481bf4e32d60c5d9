"""What every webhook reader shares: the parts of reading that do not depend on the provider.

Our delivery id from metadata or tags, timestamps, composite event ids, and the text and
address fields of a payload. The readers import these; nothing here knows any provider.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

MAX_EVENT_ID_LENGTH = 200
"""The length of ``delivery_events.event_id``; longer composite keys are hashed."""
_MAX_DELIVERY_ID = 2**63 - 1

Bounce = Literal["", "hard", "soft"]
"""The kind of a bounce event ("" for every other event)."""


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
