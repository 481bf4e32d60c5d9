"""Sending and scheduling as editors ask for it: checks first, then the status change, audited.

The web page, the JSON API and the CLI all go through here, so a campaign with a blocking
finding (publisher.campaigns.checks) is refused the same way everywhere.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from core.audit import record_audit
from core.database import utcnow
from publisher.campaigns.checks import Finding, enforce_checks
from publisher.campaigns.models import Campaign
from publisher.campaigns.scheduling import schedule_campaign
from publisher.campaigns.service import CampaignError, start_sending

PASSED = "that time has passed: use Send now, or pick a later time"


def send_now(session: Session, campaign: Campaign, *, actor: str) -> list[Finding]:
    """Check the campaign, then start sending it; returns the warnings that did not block."""
    warnings = enforce_checks(session, campaign)
    start_sending(session, campaign)
    record_audit(
        session,
        actor=actor,
        action="campaign.send",
        object_type="campaign",
        object_id=campaign.id,
        details={"warnings": [finding.code for finding in warnings]},
    )
    return warnings


def schedule_for(
    session: Session,
    campaign: Campaign,
    at: datetime,
    *,
    zone: str,
    actor: str,
    now: datetime | None = None,
) -> list[Finding]:
    """Check the campaign, then schedule it for ``at`` (shown in ``zone``); returns warnings.

    A time already past is refused, unless the campaign goes out at a local hour: then
    ``at`` is a wall time that zones further west have still to reach.
    """
    if at <= (now or utcnow()) and not campaign.local_time:
        raise CampaignError(PASSED)
    warnings = enforce_checks(session, campaign)
    schedule_campaign(session, campaign, at, zone=zone)
    record_audit(
        session,
        actor=actor,
        action="campaign.schedule",
        object_type="campaign",
        object_id=campaign.id,
        details={"at": at.isoformat(), "zone": zone, "local_time": campaign.local_time},
    )
    return warnings
