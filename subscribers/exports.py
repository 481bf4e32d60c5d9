"""Exporting a list as CSV: streamed by subscriber id (keyset), in constant memory.

The file opens in spreadsheets without mangling non-Latin text (UTF-8 with a byte-order
mark) and cannot run formulas there (``core.spreadsheets``: a cell starting with = + - @
gets a leading apostrophe, which the importer removes again, so an export imports back
unchanged).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.spreadsheets import safe_writer
from subscribers.models import Subscriber, Subscription

COLUMNS = ("email", "name", "language", "timezone", "status", "consent_at", "consent_source")
BATCH = 5_000
BOM = "\ufeff"


def _members(session: Session, list_id: int, columns: tuple[Any, ...]) -> Iterator[Any]:
    after = 0
    while True:
        page = session.execute(
            select(Subscriber.id, *columns)
            .join(Subscription, Subscription.subscriber_id == Subscriber.id)
            .where(Subscription.list_id == list_id, Subscriber.id > after)
            .order_by(Subscriber.id)
            .limit(BATCH)
        ).all()
        yield from page
        if len(page) < BATCH:
            return
        after = page[-1][0]


def attribute_names(session: Session, list_id: int) -> list[str]:
    """Every attribute name used by the list's members, sorted (one streamed pass)."""
    names: set[str] = set()
    for _, attributes in _members(session, list_id, (Subscriber.attributes,)):
        names.update(attributes or {})
    return sorted(names)


def export_lines(session: Session, list_id: int) -> Iterator[str]:
    """The list as CSV text, a chunk at a time: one column per attribute name."""
    extra = attribute_names(session, list_id)
    buffer = io.StringIO()
    writer = safe_writer(buffer, lineterminator="\r\n")
    writer.writerow([*COLUMNS, *extra])
    yield BOM + _take(buffer)
    columns = (
        Subscriber.email,
        Subscriber.name,
        Subscriber.language,
        Subscriber.timezone,
        Subscription.status,
        Subscription.consent_at,
        Subscription.consent_source,
        Subscriber.attributes,
    )
    for count, (_, *values, attributes) in enumerate(_members(session, list_id, columns), 1):
        attributes = attributes or {}
        writer.writerow([_cell(value) for value in [*values, *(attributes.get(n) for n in extra)]])
        if count % 1000 == 0:
            yield _take(buffer)
    yield _take(buffer)


def _take(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return value if value is None or isinstance(value, str) else str(value)
