"""One rate limit per provider, shared by every worker on every machine.

A token bucket: ``rate_limit_per_second`` tokens flow in each second up to ``burst``; a batch
takes one token per message. A 429 with Retry-After stops everyone until that moment.
"""

from __future__ import annotations

from sqlalchemy import Float, String
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base


class ProviderRateLimit(Base):
    """The database-backed bucket of one provider (the embedded default; Redis otherwise)."""

    __tablename__ = "provider_rate_limits"

    provider: Mapped[str] = mapped_column(String(32), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float, default=0.0)
    refilled_at: Mapped[float] = mapped_column(Float, default=0.0)
    """Unix time of the last refill (wall clock: workers on several machines share it)."""
    blocked_until: Mapped[float] = mapped_column(Float, default=0.0)
    """Unix time before which nobody sends (set from a 429's Retry-After)."""
