"""The admin's campaigns page with progress and the controls (pause, resume, cancel). The
campaign editor is :mod:`publisher.web.admin.campaigns`, the campaigns' JSON API
:mod:`publisher.web.api.campaigns`.

Sign-in, CSRF and cross-site checks happen in the ``Admin`` dependency (web/deps.py).
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse

from publisher.campaigns.models import CAMPAIGN_STATUSES
from publisher.campaigns.progress import CampaignProgress, campaign_progress, duration_text
from publisher.campaigns.queries import recent_campaigns
from publisher.campaigns.service import (
    CONTROL_DONE,
    CampaignAction,
    CampaignNotFound,
    CampaignStateError,
    allowed_controls,
    control_campaign,
)
from publisher.web.deps import Admin, CurrentUser, DbSession, RowId
from publisher.web.pages import templates

router = APIRouter()


@router.get("/admin", response_class=HTMLResponse, tags=["admin"])
def campaigns_page(request: Request, session: DbSession, _user: CurrentUser) -> HTMLResponse:
    """Campaigns, newest first, with their progress and the controls their status allows."""
    progress = campaign_progress(session, recent_campaigns(session, limit=100))
    context = {
        "title": "Campaigns",
        "campaigns": progress,
        "section": "campaigns",
        "controls": {status: allowed_controls(status) for status in CAMPAIGN_STATUSES},
        "duration_text": duration_text,
        "notice": _notice(request, progress),
    }
    return templates.TemplateResponse(request, "admin/campaigns/index.html", context)


def _notice(request: Request, progress: list[CampaignProgress]) -> str:
    """One line on what the last control did, from the redirect's query (never echoed)."""
    query = request.query_params
    campaign_id, action = query.get("campaign", ""), query.get("action", "")
    if not campaign_id.isdigit() or action not in CONTROL_DONE:
        return ""
    if query.get("outcome") == "done":
        return f"Campaign #{campaign_id} {CONTROL_DONE[action]}."
    now = next((item.status for item in progress if item.id == int(campaign_id)), "")
    because = f": it is {now}" if now else ""
    return f"Campaign #{campaign_id} could not be {CONTROL_DONE[action]}{because}."


@router.post(
    "/admin/campaigns/{campaign_id}/{action}",
    tags=["admin"],
    status_code=status.HTTP_303_SEE_OTHER,
)
def control_from_page(
    campaign_id: RowId, action: CampaignAction, session: DbSession, _admin: Admin
) -> RedirectResponse:
    """Pause, resume or cancel a campaign from the admin page, then go back to it."""
    try:
        control_campaign(session, campaign_id, action)
        outcome = "done"
    except CampaignNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(error)) from error
    except CampaignStateError:
        outcome = "refused"
    query = urlencode({"campaign": campaign_id, "action": action.value, "outcome": outcome})
    return RedirectResponse(f"/admin?{query}", status_code=status.HTTP_303_SEE_OTHER)
