"""Consent: double opt-in as explicit steps (ask, confirm), and the record of who agreed."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session


def ask_for_confirmation(session: Session, *, list_id: int, subscriber_ids: Sequence[int]) -> None:
    """Send each subscriber a confirmation email for the list, once this unit of work commits."""
    raise NotImplementedError
