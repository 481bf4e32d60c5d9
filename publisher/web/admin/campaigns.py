"""Campaign editor pages: create and edit drafts, pick and order posts, checks, preview at
desktop and phone widths, test sends, and (admins only) send now or schedule.

Editors create and edit drafts; sending and scheduling are for admins (``Admin``: 403).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from core.database import utcnow
from publisher.accounts.identity import Identity
from publisher.campaigns.checks import CampaignBlocked, CheckReport, check_campaign
from publisher.campaigns.drafts import (
    DraftFields,
    all_segments,
    create_draft,
    list_slugs_of,
    ordered_choice,
    pickable_posts,
    post_ids_of,
    update_draft,
)
from publisher.campaigns.launch import schedule_for, send_now
from publisher.campaigns.models import Campaign, CampaignKind, CampaignStatus
from publisher.campaigns.preview import campaign_subjects, preview_campaign
from publisher.campaigns.proofs import request_test_send
from publisher.campaigns.queries import campaign_posts
from publisher.campaigns.scheduling import parse_moment, zone_distribution
from publisher.campaigns.service import CampaignError, campaign_review_problem, get_campaign
from publisher.web.deps import Admin, CurrentUser, DbSession, RowId, SubmittedForm
from publisher.web.pages import templates
from subscribers.lists import all_lists

router = APIRouter(tags=["admin"])

NOTICES = {
    "created": "Draft created.",
    "saved": "Draft saved.",
    "tested": "Test send queued: it arrives in a minute, marked [Test].",
    "sending": "The campaign is sending.",
    "scheduled": "The campaign is scheduled.",
}


def _campaign(session: Session, campaign_id: int) -> Campaign:
    try:
        return get_campaign(session, campaign_id)
    except CampaignError as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(error)) from error


def _back(campaign_id: int, **query: str) -> RedirectResponse:
    suffix = f"?{urlencode(query)}" if query else ""
    return RedirectResponse(f"/admin/campaigns/{campaign_id}{suffix}", status.HTTP_303_SEE_OTHER)


def _fields(form: FormData, kind: str) -> DraftFields:
    chosen = [
        (int(value), _number(form.get(f"order_{value}"), index))
        for index, value in enumerate(form.getlist("post"))
        if isinstance(value, str) and value.isdigit()
    ]
    segment = str(form.get("segment") or "")
    return DraftFields(
        kind=kind,
        list_slugs=[str(value) for value in form.getlist("list")],
        post_ids=ordered_choice(chosen),
        subject=str(form.get("subject") or "").strip(),
        language=str(form.get("language") or "en").strip()[:16],
        track_opens=form.get("track_opens") == "on",
        track_clicks=form.get("track_clicks") == "on",
        local_time=form.get("local_time") == "on",
        segment_id=int(segment) if segment.isdigit() else None,
        since_last_digest=form.get("since_last_digest") == "on",
    )


def _number(value: object, fallback: int) -> float:
    try:
        return float(str(value))
    except ValueError:
        return float(fallback)


def _form_context(session: Session) -> dict[str, Any]:
    return {
        "lists": all_lists(session),
        "posts": pickable_posts(session),
        "segments": all_segments(session),
    }


@router.get("/admin/campaigns/new", response_class=HTMLResponse)
def new_campaign_page(
    request: Request, session: DbSession, _user: CurrentUser, kind: str = CampaignKind.ANNOUNCEMENT
) -> HTMLResponse:
    """The form for a new announcement or digest."""
    fields = DraftFields(
        kind=kind
        if kind in (CampaignKind.ANNOUNCEMENT, CampaignKind.DIGEST)
        else CampaignKind.ANNOUNCEMENT
    )
    context = {"title": "New campaign", "section": "campaigns", "fields": fields}
    return templates.TemplateResponse(
        request, "admin/campaigns/new.html", {**context, **_form_context(session)}
    )


@router.post("/admin/campaigns/new", response_model=None)
def create_campaign_from_page(
    request: Request, session: DbSession, _user: CurrentUser, form: SubmittedForm
) -> Response:
    """Create the draft and open it; the form comes back with the problem otherwise."""
    kind = str(form.get("kind") or CampaignKind.ANNOUNCEMENT)
    fields = _fields(form, kind)
    try:
        campaign = create_draft(session, fields, now=utcnow())
    except CampaignError as error:
        session.rollback()
        context = {"title": "New campaign", "section": "campaigns", "fields": fields}
        context |= {"error": str(error), **_form_context(session)}
        return templates.TemplateResponse(
            request, "admin/campaigns/new.html", context, status_code=400
        )
    return _back(campaign.id, notice="created")


@router.get("/admin/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign_page(
    request: Request, campaign_id: RowId, session: DbSession, user: CurrentUser
) -> HTMLResponse:
    """One campaign: its draft form, checks, preview, test send and send or schedule."""
    campaign = _campaign(session, campaign_id)
    code = request.query_params.get("notice", "")
    context = _campaign_context(session, campaign, user)
    context["notice"] = NOTICES.get(code, "")
    return templates.TemplateResponse(request, "admin/campaigns/campaign.html", context)


def _campaign_context(session: Session, campaign: Campaign, user: Identity) -> dict[str, Any]:
    zone = _zone(user.timezone)
    fields = DraftFields(
        kind=campaign.kind,
        list_slugs=list_slugs_of(session, campaign),
        post_ids=post_ids_of(session, campaign),
        subject=campaign.subject,
        language=campaign.language,
        track_opens=campaign.track_opens,
        track_clicks=campaign.track_clicks,
        local_time=campaign.local_time,
        segment_id=campaign.segment_id,
    )
    scheduled_local = campaign.scheduled_at.astimezone(zone) if campaign.scheduled_at else None
    drafted = campaign.status == CampaignStatus.DRAFT
    report = check_campaign(session, campaign) if drafted else CheckReport([], [])
    return {
        "title": f"Campaign #{campaign.id}",
        "section": "campaigns",
        "campaign": campaign,
        "fields": fields,
        "chosen_posts": campaign_posts(session, campaign.id),
        "subjects": campaign_subjects(session, campaign),
        "review_hold": (
            campaign_review_problem(session, campaign.id)
            if campaign.status == CampaignStatus.SCHEDULED
            else ""
        ),
        "findings": report.findings,
        "sizes": report.sizes,
        "zones": zone_distribution(session, campaign, at=_suggested(campaign, zone)),
        "editor_zone": zone.key,
        "scheduled_local": scheduled_local,
        "default_when": _default_when(zone),
        **_form_context(session),
    }


def _suggested(campaign: Campaign, zone: ZoneInfo) -> datetime | None:
    """For a draft, the suggested time, so the zones table shows each recipient's clock."""
    if campaign.status != CampaignStatus.DRAFT:
        return None
    return datetime.fromisoformat(_default_when(zone)).replace(tzinfo=zone)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def _default_when(zone: ZoneInfo) -> str:
    """Tomorrow, 09:00 on the editor's clock: what the schedule field suggests."""
    tomorrow = (utcnow().astimezone(zone) + timedelta(days=1)).replace(hour=9, minute=0)
    return tomorrow.strftime("%Y-%m-%dT%H:%M")


@router.post("/admin/campaigns/{campaign_id}/edit", response_model=None)
def edit_campaign_from_page(
    request: Request, campaign_id: RowId, session: DbSession, user: CurrentUser, form: SubmittedForm
) -> Response:
    """Save a draft's fields."""
    campaign = _campaign(session, campaign_id)
    try:
        update_draft(session, campaign, _fields(form, campaign.kind))
    except CampaignError as error:
        session.rollback()
        return _page_with_error(request, session, campaign_id, user, str(error))
    return _back(campaign_id, notice="saved")


def _page_with_error(
    request: Request, session: Session, campaign_id: int, user: Identity, error: str
) -> HTMLResponse:
    context = _campaign_context(session, _campaign(session, campaign_id), user)
    context["error"] = error
    return templates.TemplateResponse(
        request, "admin/campaigns/campaign.html", context, status_code=409
    )


@router.get("/admin/campaigns/{campaign_id}/preview.html", response_class=HTMLResponse)
def preview_html(
    campaign_id: RowId, session: DbSession, _user: CurrentUser, email: str = "", lang: str = ""
) -> HTMLResponse:
    """The email's HTML as the chosen subscriber (or a sample reader) gets it, untracked."""
    shown = _preview(session, campaign_id, email, lang)
    return HTMLResponse(shown.html, headers={"Content-Security-Policy": "script-src 'none'"})


@router.get("/admin/campaigns/{campaign_id}/preview.txt", response_class=PlainTextResponse)
def preview_text(
    campaign_id: RowId, session: DbSession, _user: CurrentUser, email: str = "", lang: str = ""
) -> PlainTextResponse:
    """The plain-text version, with its subject on top."""
    shown = _preview(session, campaign_id, email, lang)
    return PlainTextResponse(f"Subject: {shown.subject}\n\n{shown.text}")


def _preview(session: Session, campaign_id: int, email: str, language: str) -> Any:
    campaign = _campaign(session, campaign_id)
    try:
        return preview_campaign(
            session, campaign, email=email.strip() or None, language=language or None
        )
    except CampaignError as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(error)) from error


@router.post("/admin/campaigns/{campaign_id}/test", response_model=None)
def test_send_from_page(
    request: Request, campaign_id: RowId, session: DbSession, user: CurrentUser, form: SubmittedForm
) -> Response:
    """Queue a "[Test]" copy to the addresses given."""
    campaign = _campaign(session, campaign_id)
    try:
        request_test_send(session, campaign, [str(form.get("to") or "")], actor=user.label)
    except CampaignError as error:
        session.rollback()
        return _page_with_error(request, session, campaign_id, user, str(error))
    return _back(campaign_id, notice="tested")


@router.post("/admin/campaigns/{campaign_id}/send", response_model=None)
def send_from_page(
    request: Request, campaign_id: RowId, session: DbSession, admin: Admin
) -> Response:
    """Send now, if the checks allow."""
    campaign = _campaign(session, campaign_id)
    try:
        send_now(session, campaign, actor=admin.label)
    except CampaignError as error:
        session.rollback()
        return _page_with_error(request, session, campaign_id, admin, _refusal(error))
    return _back(campaign_id, notice="sending")


@router.post("/admin/campaigns/{campaign_id}/schedule", response_model=None)
def schedule_from_page(
    request: Request, campaign_id: RowId, session: DbSession, admin: Admin, form: SubmittedForm
) -> Response:
    """Schedule for the time given, read in the admin's own zone, if the checks allow."""
    campaign = _campaign(session, campaign_id)
    zone = _zone(admin.timezone).key
    try:
        campaign.local_time = form.get("local_time") == "on"
        moment = parse_moment(str(form.get("at") or ""), zone)
        schedule_for(session, campaign, moment, zone=zone, actor=admin.label)
    except CampaignError as error:
        session.rollback()
        return _page_with_error(request, session, campaign_id, admin, _refusal(error))
    return _back(campaign_id, notice="scheduled")


def _refusal(error: CampaignError) -> str:
    if isinstance(error, CampaignBlocked):
        return "Not sent: " + " ".join(error.reasons)
    return str(error)
