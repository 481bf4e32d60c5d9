"""The admin: a campaigns page with delivery counts, and the same data as JSON."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from publisher.campaigns import CampaignError, get_campaign, recent_campaigns
from publisher.progress import CampaignProgress, campaign_progress
from publisher.web.common import Admin, DbSession, templates

router = APIRouter()


@router.get("/admin", response_class=HTMLResponse, tags=["admin"])
def campaigns_page(request: Request, session: DbSession, _admin: Admin) -> HTMLResponse:
    """Campaigns, newest first, with their delivery counts."""
    progress = campaign_progress(session, recent_campaigns(session, limit=100))
    context = {"title": "Campaigns", "campaigns": progress, "admin_nav": True}
    return templates.TemplateResponse(request, "admin_campaigns.html", context)


@router.get("/api/campaigns", tags=["admin"])
def campaigns_json(session: DbSession, _admin: Admin) -> list[CampaignProgress]:
    """Campaigns, newest first, with their delivery counts."""
    return campaign_progress(session, recent_campaigns(session, limit=100))


@router.get("/api/campaigns/{campaign_id}", tags=["admin"])
def campaign_json(campaign_id: int, session: DbSession, _admin: Admin) -> CampaignProgress:
    """One campaign with its delivery counts."""
    try:
        campaign = get_campaign(session, campaign_id)
    except CampaignError as error:
        raise HTTPException(status_code=404, detail=str(error)) from error
    return campaign_progress(session, [campaign])[0]
