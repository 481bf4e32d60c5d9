"""The campaigns' JSON API: list them, create drafts, run checks, preview, test, send and
schedule; one campaign's progress, and its controls (pause, resume, cancel).

Send and schedule are for admins and answer 409 with the blocking reasons when the checks
refuse; editors may create drafts, run checks and send tests.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field

from core.database import utcnow
from publisher.campaigns.checks import CampaignBlocked, Finding, HtmlSize, check_campaign
from publisher.campaigns.drafts import DraftFields, create_draft
from publisher.campaigns.launch import schedule_for, send_now
from publisher.campaigns.models import Campaign
from publisher.campaigns.preview import campaign_subjects, preview_campaign
from publisher.campaigns.progress import CampaignProgress, campaign_progress
from publisher.campaigns.proofs import request_test_send
from publisher.campaigns.queries import recent_campaigns
from publisher.campaigns.scheduling import parse_moment
from publisher.campaigns.service import (
    CampaignAction,
    CampaignError,
    CampaignNotFound,
    CampaignStateError,
    control_campaign,
    get_campaign,
)
from publisher.web.deps import Admin, CurrentUser, DbSession, IdValue, RowId

router = APIRouter(tags=["admin"])
REFUSED: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such campaign"},
    409: {"description": "Refused"},
}


class NewCampaign(BaseModel):
    """A draft to create. A digest with no ``post_ids`` carries the posts published since
    the lists' last digest."""

    kind: Literal["announcement", "digest"]
    lists: list[str] = Field(min_length=1)
    post_ids: list[IdValue] = []
    subject: str = ""
    language: str = "en"
    track_opens: bool = True
    track_clicks: bool = True
    local_time: bool = False
    segment_id: IdValue | None = None


class ScheduleRequest(BaseModel):
    """When: ISO 8601 with an offset, or a wall time with ``zone``."""

    at: str
    zone: str | None = None


class TestRequest(BaseModel):
    """Addresses for a "[Test]" copy."""

    to: list[str] = Field(min_length=1, max_length=10)


class FindingOut(BaseModel):
    """One check's finding."""

    level: str
    code: str
    message: str


class HtmlSizeOut(BaseModel):
    """One language's HTML part: bytes as written and as sent (transfer-encoded)."""

    language: str
    decoded_bytes: int
    encoded_bytes: int
    encoding: str


class ChecksOut(BaseModel):
    """The checks' findings (level "block" or "warn") and each language's HTML size."""

    findings: list[FindingOut]
    sizes: list[HtmlSizeOut]


def _findings(findings: list[Finding]) -> list[FindingOut]:
    return [FindingOut(level=f.level, code=f.code, message=f.message) for f in findings]


def _sizes(sizes: list[HtmlSize]) -> list[HtmlSizeOut]:
    return [
        HtmlSizeOut(
            language=s.language,
            decoded_bytes=s.decoded_bytes,
            encoded_bytes=s.encoded_bytes,
            encoding=s.encoding,
        )
        for s in sizes
    ]


def _campaign(session: Any, campaign_id: int) -> Campaign:
    try:
        return get_campaign(session, campaign_id)
    except CampaignNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(error)) from error


def _conflict(error: CampaignError) -> HTTPException:
    if isinstance(error, CampaignBlocked):
        detail: Any = {"message": "blocked by checks", "reasons": error.reasons}
    else:
        detail = str(error)
    return HTTPException(status.HTTP_409_CONFLICT, detail=detail)


@router.get("/api/campaigns")
def campaigns_json(session: DbSession, _user: CurrentUser) -> list[CampaignProgress]:
    """Campaigns, newest first, with their progress."""
    return campaign_progress(session, recent_campaigns(session, limit=100))


@router.post("/api/campaigns", status_code=201, responses=REFUSED)
def create_campaign_json(
    body: NewCampaign, session: DbSession, _user: CurrentUser
) -> CampaignProgress:
    """Create a draft announcement or digest."""
    fields = DraftFields(
        kind=body.kind,
        list_slugs=body.lists,
        post_ids=body.post_ids,
        subject=body.subject,
        language=body.language,
        track_opens=body.track_opens,
        track_clicks=body.track_clicks,
        local_time=body.local_time,
        segment_id=body.segment_id,
        since_last_digest=body.kind == "digest" and not body.post_ids,
    )
    try:
        campaign = create_draft(session, fields, now=utcnow())
    except CampaignError as error:
        raise _conflict(error) from error
    return campaign_progress(session, [campaign])[0]


@router.get("/api/campaigns/{campaign_id}/checks", responses=REFUSED)
def checks_json(campaign_id: RowId, session: DbSession, _user: CurrentUser) -> ChecksOut:
    """The checks' findings (level "block" or "warn") and each language's HTML size."""
    report = check_campaign(session, _campaign(session, campaign_id))
    return ChecksOut(findings=_findings(report.findings), sizes=_sizes(report.sizes))


class PreviewOut(BaseModel):
    """A rendering of the campaign for one reader: never tracked, never their tokens."""

    subject: str
    html: str
    text: str
    language: str
    recipient: str
    subjects: dict[str, str]
    """The subject each language's recipients get."""


@router.get("/api/campaigns/{campaign_id}/preview", responses=REFUSED)
def preview_json(
    campaign_id: RowId, session: DbSession, _user: CurrentUser, email: str = "", lang: str = ""
) -> PreviewOut:
    """The email as the subscriber with ``email`` (their name and language, inert links) or
    a sample reader in ``lang`` would see it."""
    campaign = _campaign(session, campaign_id)
    try:
        shown = preview_campaign(
            session, campaign, email=email.strip() or None, language=lang or None
        )
    except CampaignError as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(error)) from error
    return PreviewOut(
        subject=shown.subject,
        html=shown.html,
        text=shown.text,
        language=shown.language,
        recipient=shown.recipient,
        subjects=campaign_subjects(session, campaign),
    )


@router.post("/api/campaigns/{campaign_id}/test", status_code=202, responses=REFUSED)
def test_json(
    campaign_id: RowId, body: TestRequest, session: DbSession, user: CurrentUser
) -> dict[str, list[str]]:
    """Queue a "[Test]" copy to the addresses (no deliveries are created)."""
    try:
        sent_to = request_test_send(
            session, _campaign(session, campaign_id), body.to, actor=user.label
        )
    except CampaignError as error:
        raise _conflict(error) from error
    return {"to": sent_to}


@router.post("/api/campaigns/{campaign_id}/send", responses=REFUSED)
def send_json(campaign_id: RowId, session: DbSession, admin: Admin) -> CampaignProgress:
    """Start sending now (admins; 409 with the reasons when the checks block)."""
    campaign = _campaign(session, campaign_id)
    try:
        send_now(session, campaign, actor=admin.label)
    except CampaignError as error:
        raise _conflict(error) from error
    return campaign_progress(session, [campaign])[0]


@router.post("/api/campaigns/{campaign_id}/schedule", responses=REFUSED)
def schedule_json(
    campaign_id: RowId, body: ScheduleRequest, session: DbSession, admin: Admin
) -> CampaignProgress:
    """Schedule (admins; 422 for a time that is none, or lacks an offset or a zone; 409 when
    checks block)."""
    campaign = _campaign(session, campaign_id)
    try:
        moment = parse_moment(body.at, body.zone)
    except CampaignError as error:  # the time as written: no time, or no zone
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(error)) from error
    try:
        zone = body.zone or admin.timezone or "UTC"
        schedule_for(session, campaign, moment, zone=zone, actor=admin.label)
    except CampaignError as error:
        raise _conflict(error) from error
    return campaign_progress(session, [campaign])[0]


@router.get("/api/campaigns/{campaign_id}")
def campaign_json(campaign_id: RowId, session: DbSession, _user: CurrentUser) -> CampaignProgress:
    """One campaign's progress: deliveries per status, percent done, rate, ETA."""
    try:
        campaign = get_campaign(session, campaign_id)
    except CampaignError as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(error)) from error
    return campaign_progress(session, [campaign])[0]


# After /send, /schedule and /test above: the first full match wins, and {action} would
# otherwise take those paths.
@router.post(
    "/api/campaigns/{campaign_id}/{action}",
    responses={404: {"description": "No such campaign"}, 409: {"description": "Not allowed now"}},
)
def control_json(
    campaign_id: RowId, action: CampaignAction, session: DbSession, _admin: Admin
) -> CampaignProgress:
    """Pause, resume or cancel a campaign; answers with its progress (409 when not allowed)."""
    try:
        campaign = control_campaign(session, campaign_id, action)
    except CampaignNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(error)) from error
    except CampaignStateError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(error)) from error
    return campaign_progress(session, [campaign])[0]
