"""Suppression: addresses that must never be mailed (hard bounces, complaints, erasures)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from subscribers.models import Suppression


def suppressed_addresses(session: Session, emails: Iterable[str]) -> set[str]:
    """Those of ``emails`` (normalised) that are suppressed."""
    wanted = list(emails)
    if not wanted:
        return set()
    return set(session.scalars(select(Suppression.email).where(Suppression.email.in_(wanted))))
