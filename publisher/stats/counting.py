"""Adding to counters in one statement: ``INSERT … ON CONFLICT (key) DO UPDATE SET n = n + new``.

Both PostgreSQL and SQLite take the same upsert; rows are sorted by key first, so two units
of work bumping the same counters lock them in the same order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

Row = Mapping[str, Any]


def add_counts(
    session: Session,
    table: Any,
    rows: Sequence[Row],
    *,
    keys: Sequence[str],
    maxima: Sequence[str] = (),
    replace: Sequence[str] = (),
) -> None:
    """Insert ``rows``, or add their counts to the rows already there (same ``keys``).

    Columns named in ``maxima`` keep the larger value, those in ``replace`` take the new one;
    every other non-key column is added. Rows repeating a key are merged first (a multi-row
    upsert may not touch one row twice).
    """
    if not rows:
        return
    target: Table = table.__table__ if hasattr(table, "__table__") else table
    merged = _merge(rows, keys, maxima, replace)
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(target).values(merged)
    excluded = insert.excluded
    updates: dict[str, Any] = {}
    for name in merged[0]:
        if name in keys:
            continue
        if name in maxima:
            updates[name] = func.max(target.c[name], excluded[name])
            if session.get_bind().dialect.name == "postgresql":
                updates[name] = func.greatest(target.c[name], excluded[name])
        elif name in replace:
            updates[name] = excluded[name]
        else:
            updates[name] = target.c[name] + excluded[name]
    session.execute(insert.on_conflict_do_update(index_elements=list(keys), set_=updates))


def _merge(
    rows: Sequence[Row], keys: Sequence[str], maxima: Sequence[str], replace: Sequence[str]
) -> list[dict[str, Any]]:
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = tuple(row[name] for name in keys)
        current = merged.get(key)
        if current is None:
            merged[key] = dict(row)
            continue
        for name, value in row.items():
            if name in keys:
                continue
            if name in maxima:
                current[name] = max(current[name], value)
            elif name in replace:
                current[name] = value
            else:
                current[name] += value
    return [merged[key] for key in sorted(merged, key=_sortable)]


def _sortable(key: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple(str(part) for part in key)
