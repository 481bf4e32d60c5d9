"""Sending and scheduling as editors ask for it: checks first, then the status change, audited.

The web page, the JSON API and the CLI all go through here, so a campaign with a blocking
finding (publisher.campaigns.checks), or one that no provider could send because the settings
cannot build it, is refused the same way everywhere.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from core.audit import record_audit
from core.database import utcnow
from core.providers.registry import provider_problem
from core.settings import get_settings
from publisher.campaigns.checks import Finding, enforce_checks
from publisher.campaigns.models import Campaign
from publisher.campaigns.scheduling import schedule_campaign
from publisher.campaigns.service import CampaignError, start_sending

PASSED = "that time has passed: use Send now, or pick a later time"


class ProviderUnavailable(CampaignError):
    """No campaign can start: the email provider cannot be built from the settings."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"the email provider cannot send: {reason}")
        self.reason = reason


def require_provider() -> None:
    """Refuse (:class:`ProviderUnavailable`) when the provider cannot be built from settings."""
    problem = provider_problem(get_settings())
    if problem is not None:
        raise ProviderUnavailable(problem)


def send_now(session: Session, campaign: Campaign, *, actor: str) -> list[Finding]:
    """Check the provider and the campaign, then start sending it; returns the warnings that
    did not block."""
    require_provider()
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
    require_provider()
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
