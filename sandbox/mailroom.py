"""What the sandbox accepted: a compact record per message, the latest full messages, counts.

A million accepted messages must not cost gigabytes, so the full message is kept only for the
most recent few (``keep_messages``); every message leaves a compact record (message id,
campaign, recipient, our ``herald_key``, its ``delivery_id`` metadata, when) in a private
SQLite database on disk, which also answers "was this recipient seen before, in this
campaign?" in one statement per batch, and the providers' message look-ups (Postmark's
message search, Mailgun's events). The counts are kept as they change, so reading them costs
nothing.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections import deque
from collections.abc import Iterable, Sequence
from email.utils import getaddresses
from typing import Any, NamedTuple

Json = dict[str, Any]

COUNTS = (
    "messages",
    "unique_recipients",
    "duplicates",
    "throttled",
    "errors",
    "slow",
    "replayed",
    "webhooks_sent",
    "webhooks_failed",
)

_SCHEMA = """
CREATE TABLE messages (
    message_id TEXT, campaign_id TEXT, recipient TEXT, herald_key TEXT, delivery_id TEXT,
    accepted_at REAL
);
CREATE INDEX messages_by_delivery ON messages (delivery_id);
CREATE TABLE recipients (recipient TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE deliveries (
    campaign_id TEXT, recipient TEXT, PRIMARY KEY (campaign_id, recipient)
) WITHOUT ROWID;
"""


class Envelope(NamedTuple):
    """The part of an accepted message the sandbox keeps for good."""

    campaign_id: str | None
    recipients: list[str]
    herald_key: str | None
    delivery_id: str | None = None
    """The ``delivery_id`` the message carried as metadata (what look-ups search by)."""


class Found(NamedTuple):
    """One accepted message as a look-up finds it."""

    message_id: str
    campaign_id: str | None
    recipient: str
    delivery_id: str
    accepted_at: float
    """Unix time."""


class Mailroom:
    """Records accepted messages and keeps the sandbox's counts (one per sandbox)."""

    def __init__(self, keep_messages: int) -> None:
        self._recent: deque[Json] = deque(maxlen=keep_messages)
        self._ledger = _open_ledger()
        self._id_prefix = str(uuid.uuid4())[:24]
        self._issued = 0
        self._counts = dict.fromkeys(COUNTS, 0)

    def accept(self, envelopes: Sequence[Envelope]) -> list[str]:
        """Record ``envelopes`` as accepted; returns a new message id for each, in order."""
        ids = self._new_ids(len(envelopes))
        now = time.time()
        rows = [
            (
                message_id,
                envelope.campaign_id,
                recipient,
                envelope.herald_key,
                envelope.delivery_id,
                now,
            )
            for message_id, envelope in zip(ids, envelopes, strict=True)
            for recipient in envelope.recipients
        ]
        pairs = [(row[1], row[2]) for row in rows if row[1]]
        with self._ledger:
            self._ledger.executemany("INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?)", rows)
            new_recipients = _inserted(self._ledger, "recipients", [(row[2],) for row in rows])
            new_deliveries = _inserted(self._ledger, "deliveries", pairs)
        self._counts["messages"] += len(envelopes)
        self._counts["unique_recipients"] += new_recipients
        self._counts["duplicates"] += len(pairs) - new_deliveries
        return ids

    def remember(self, messages: Iterable[Json]) -> None:
        """Keep ``messages`` (full, with their ids) among the most recent ones."""
        self._recent.extend(messages)

    def count(self, name: str, amount: int = 1) -> None:
        """Add ``amount`` to the count called ``name`` (one of ``COUNTS``)."""
        self._counts[name] += amount

    def stats(self) -> dict[str, int]:
        """Every count, as of now."""
        return dict(self._counts)

    def messages(self) -> list[Json]:
        """The most recent full messages, oldest first."""
        return list(self._recent)

    def recipients(self, campaign_id: str) -> dict[str, int]:
        """How many messages of ``campaign_id`` each recipient was sent."""
        found = self._ledger.execute(
            "SELECT recipient, COUNT(*) FROM messages WHERE campaign_id = ? GROUP BY recipient",
            (campaign_id,),
        )
        return dict(found)

    def find(self, delivery_id: str, campaign_id: str | None = None) -> list[Found]:
        """The accepted messages whose ``delivery_id`` metadata is ``delivery_id`` (and whose
        campaign is ``campaign_id``, when given), newest first."""
        found = self._ledger.execute(
            "SELECT message_id, campaign_id, recipient, delivery_id, accepted_at FROM messages"
            " WHERE delivery_id = ? AND (? IS NULL OR campaign_id = ?)"
            " ORDER BY accepted_at DESC",
            (delivery_id, campaign_id, campaign_id),
        )
        return [Found(*row) for row in found]

    def reset(self) -> None:
        """Forget every message and zero every count."""
        self._ledger.close()
        self._ledger = _open_ledger()
        self._recent.clear()
        self._counts = dict.fromkeys(COUNTS, 0)

    def _new_ids(self, count: int) -> list[str]:
        # UUID-shaped, unique per sandbox, and far cheaper than a random UUID each.
        start, self._issued = self._issued, self._issued + count
        return [f"{self._id_prefix}{number:012x}" for number in range(start, start + count)]


def addresses(value: Any) -> list[str]:
    """The bare, lower-cased addresses of a recipient field; empty if any of them is invalid.

    ``value`` is a string (``a@b.c``, ``Name <a@b.c>``, or several separated by commas) or,
    as Resend allows, a list of such strings.
    """
    if isinstance(value, list):
        parts = [addresses(item) for item in value]
        return [address for part in parts for address in part] if parts and all(parts) else []
    if not isinstance(value, str):
        return []
    if "<" not in value and "," not in value and '"' not in value:
        bare = value.strip().lower()
        return [bare] if _plausible(bare) else []
    parsed = [address.lower() for _, address in getaddresses([value])]
    return parsed if parsed and all(_plausible(address) for address in parsed) else []


def _plausible(address: str) -> bool:
    local, at, domain = address.rpartition("@")
    return bool(at and local and domain) and " " not in address and address.isprintable()


def _open_ledger() -> sqlite3.Connection:
    # An empty name is SQLite's private temporary database: on disk, deleted when closed.
    ledger = sqlite3.connect("", check_same_thread=False)
    ledger.execute("PRAGMA journal_mode = MEMORY")
    ledger.execute("PRAGMA synchronous = OFF")
    ledger.execute("PRAGMA cache_size = -16000")
    ledger.executescript(_SCHEMA)
    return ledger


def _inserted(ledger: sqlite3.Connection, table: str, rows: Sequence[tuple[str, ...]]) -> int:
    """Insert the rows ``table`` does not hold yet; returns how many were new."""
    if not rows:
        return 0
    marks = ", ".join("?" * len(rows[0]))
    return ledger.executemany(f"INSERT OR IGNORE INTO {table} VALUES ({marks})", rows).rowcount  # noqa: S608 - fixed table names
