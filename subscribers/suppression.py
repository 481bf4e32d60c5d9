"""Suppression: addresses that must never be mailed (hard bounces, complaints, erasures).

A suppressed address is refused at every door (subscribe forms, the JSON API, imports, the
preference centre) and never planned by a campaign. An erased address is kept only as the
SHA-256 of its normalised form: unkeyed, so that rotating the secret key can never quietly
let an erased person be mailed again. Only :func:`lift_suppression`, an admin's explicit
and audited action, takes an address off the list.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from core.audit import record_audit
from core.database import insert_ignoring_conflicts, utcnow
from subscribers.models import Suppression, SuppressionReason


def address_hash(email: str) -> str:
    """The hex SHA-256 of a normalised address, as kept for an erased one."""
    return hashlib.sha256(email.encode("utf-8")).hexdigest()


def suppressed_addresses(session: Session, emails: Iterable[str]) -> set[str]:
    """Those of ``emails`` (normalised) that are suppressed, by address or by its hash."""
    by_hash = {address_hash(email): email for email in emails}
    if not by_hash:
        return set()
    wanted = list(by_hash.values())
    rows = session.execute(
        select(Suppression.email, Suppression.email_hash).where(
            or_(Suppression.email.in_(wanted), Suppression.email_hash.in_(list(by_hash)))
        )
    )
    return {email or by_hash[str(digest)] for email, digest in rows}


def is_suppressed(session: Session, email: str) -> bool:
    """Whether the normalised address ``email`` may never be mailed."""
    return bool(suppressed_addresses(session, [email]))


def suppression_entries(session: Session, email: str) -> list[Suppression]:
    """The entries that suppress ``email`` (its own, and the hash left by an erasure)."""
    return list(
        session.scalars(
            select(Suppression)
            .where(or_(Suppression.email == email, Suppression.email_hash == address_hash(email)))
            .order_by(Suppression.id)
        )
    )


def keep_hash_only(session: Session, email: str) -> None:
    """Replace whatever suppresses ``email`` with one entry holding only its hash (erasure)."""
    session.execute(delete(Suppression).where(Suppression.email == email))
    insert = insert_ignoring_conflicts(
        session, Suppression.__table__, index_elements=["email_hash"]
    )
    session.execute(
        insert.values(
            email=None,
            email_hash=address_hash(email),
            reason=SuppressionReason.ERASED,
            created_at=utcnow(),
        )
    )


def lift_suppression(session: Session, email: str, *, actor: str, reason: str) -> list[str]:
    """Take ``email`` off the suppression list (an admin's explicit act, audited); return the
    reasons it had been suppressed for (empty: it was not)."""
    if not reason.strip():
        raise ValueError("a reason is required to lift a suppression")
    entries = suppression_entries(session, email)
    if not entries:
        return []
    reasons = [entry.reason for entry in entries]
    session.execute(delete(Suppression).where(Suppression.id.in_([e.id for e in entries])))
    # Named by its hash: an audit entry outlives an erasure, the address must not.
    record_audit(
        session,
        actor=actor,
        action="suppression.lift",
        object_type="suppression",
        object_id=address_hash(email),
        details={"reason": reason.strip(), "was": reasons},
    )
    return reasons
