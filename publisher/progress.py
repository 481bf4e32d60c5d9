"""A campaign's progress as admins see it: status and deliveries per status."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy.orm import Session

from publisher.deliveries import delivery_counts
from publisher.models import DELIVERY_STATUSES, Campaign


class CampaignProgress(BaseModel):
    """One campaign with its delivery counts (the JSON API and ``--json`` share this shape)."""

    id: int
    kind: str
    subject: str
    status: str
    total: int
    queued: int
    sending: int
    sent: int
    failed: int
    unknown: int
    skipped: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str

    @property
    def done_ratio(self) -> float:
        """Share of the planned deliveries that reached an end state."""
        finished = self.sent + self.failed + self.unknown + self.skipped
        return finished / self.total if self.total else 0.0


def campaign_progress(session: Session, campaigns: Sequence[Campaign]) -> list[CampaignProgress]:
    """Progress of each campaign, in the given order, from one grouped count."""
    counts = delivery_counts(session, [campaign.id for campaign in campaigns])
    return [
        CampaignProgress(
            id=campaign.id,
            kind=campaign.kind,
            subject=_subject(campaign),
            status=campaign.status,
            total=campaign.total,
            created_at=campaign.created_at,
            started_at=campaign.started_at,
            finished_at=campaign.finished_at,
            error=campaign.error,
            **{status: counts[campaign.id].get(status, 0) for status in DELIVERY_STATUSES},
        )
        for campaign in campaigns
    ]


def _subject(campaign: Campaign) -> str:
    if campaign.subject:
        return campaign.subject
    snapshot = campaign.compiled or {}
    language = snapshot.get("default_language", "")
    return str(snapshot.get("languages", {}).get(language, {}).get("subject", ""))
