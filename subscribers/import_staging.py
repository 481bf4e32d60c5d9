"""The PostgreSQL side of an import chunk: rows streamed into temporary tables with COPY.

Binding a chunk's addresses as parameters (IN lists, or arrays dumped element by element)
costs more on the client than the statements cost on the server. Here a chunk goes into a
TEMP table in one COPY (rows formatted by psycopg's C code), and the checks and writes are
set-based statements joining that table: a few round trips per chunk, however large.

The tables are created in the chunk's transaction with ON COMMIT DROP, so nothing is left on
a pooled connection afterwards and a rolled-back chunk leaves nothing behind either.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, cast

import psycopg
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.database import utcnow
from subscribers.suppression import address_hash

# Subscribers are found through their unique index with `= ANY(ARRAY(…))`: as a join, the
# planner tends to hash the whole subscribers table for each chunk, which grows with the list.
# Suppressions are joined (usually a short list, hashed once), twice rather than with an OR so
# that each stays a join; an address suppressed both ways comes back twice (kept as a set).
LOOKUP = text(
    "SELECT s.email, false, s.id, sub.status, s.status, s.name, s.language, s.timezone,"
    " s.attributes FROM subscribers s"
    " LEFT JOIN subscriptions sub ON sub.subscriber_id = s.id AND sub.list_id = :list_id"
    " WHERE s.email = ANY(ARRAY(SELECT email FROM import_chunk))"
    " UNION ALL"
    " SELECT c.email, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM import_chunk c"
    " JOIN suppressions x ON x.email = c.email"
    " UNION ALL"
    " SELECT c.email, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM import_chunk c"
    " JOIN suppressions x ON x.email_hash = c.email_hash"
)
UPSERT = (
    "INSERT INTO subscribers (email, name, language, timezone, attributes, status, created_at)"
    " SELECT email, name, language, timezone, attributes, 'active', %(now)s FROM import_upsert"
    " ON CONFLICT (email) DO UPDATE SET name = excluded.name, language = excluded.language,"
    " timezone = excluded.timezone, attributes = excluded.attributes"
    " RETURNING email, id"
)
# The same text as json.dumps(value, ensure_ascii=False), without building an encoder per call.
_to_json = json.JSONEncoder(ensure_ascii=False).encode


def lookup(
    session: Session, list_id: int, emails: Iterable[str]
) -> tuple[set[str], list[tuple[Any, ...]]]:
    """The suppressed ones of ``emails`` (by address or by hash), and those that are
    subscribers already: (email, id, subscription status, status, name, language, timezone,
    attributes) each."""
    stage(
        session,
        "import_chunk",
        "email text, email_hash text",
        ((email, address_hash(email)) for email in emails),
    )
    suppressed: set[str] = set()
    known: list[tuple[Any, ...]] = []
    for email, is_suppressed, *values in session.execute(LOOKUP, {"list_id": list_id}).all():
        if is_suppressed:
            suppressed.add(email)
        else:
            known.append((email, *values))
    return suppressed, known


def upsert(
    session: Session, rows: Sequence[dict[str, Any]], *, language: str
) -> list[tuple[str, int]]:
    """Insert or update the subscribers in ``rows`` (emails unique), with ``language`` for
    those that have none; (email, id) of each."""
    stage(
        session,
        "import_upsert",
        "email text, name text, language text, timezone text, attributes json",
        (
            (
                row["email"],
                row["name"],
                row["language"] or language,
                row["timezone"],
                _to_json(row["attributes"]),
            )
            for row in rows
        ),
    )
    # A plain scan of a freshly filled temp table returns rows in the order they were copied
    # (temp tables are never scanned in parallel), so ids are given in file order as before.
    return [(email, id_) for email, id_ in fetch(session, UPSERT, {"now": utcnow()})]


def stage(session: Session, table: str, columns: str, rows: Iterable[Sequence[Any]]) -> None:
    """Fill the TEMP ``table`` (created for this transaction if need be) with ``rows``."""
    with _driver(session).cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table} ({columns}) ON COMMIT DROP")
        cursor.execute(f"TRUNCATE {table}")
        with cursor.copy(f"COPY {table} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def fetch(session: Session, statement: str, values: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The rows of ``statement`` (psycopg placeholders), run in the session's transaction.

    Through the driver's cursor: its rows are plain tuples, made in C, where the ORM's
    result would build a Row object for each of thousands of ids.
    """
    with _driver(session).cursor() as cursor:
        cursor.execute(statement, values)
        return cursor.fetchall()


def integers(values: Iterable[int]) -> str:
    """An ``integer[]`` literal: one short string to bind instead of an array to dump."""
    return "{" + ",".join(str(int(value)) for value in values) + "}"


def _driver(session: Session) -> psycopg.Connection[tuple[Any, ...]]:
    # The session's own connection, so that COPY and these statements share its transaction.
    driver = session.connection().connection.driver_connection
    return cast("psycopg.Connection[tuple[Any, ...]]", driver)
