"""The public archive of sent campaigns, per list and language, and its Atom feed.

Only public lists and sent campaigns; every email is rendered for nobody in particular, so
no page or feed carries anyone's token, tracking pixel or tracked link.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from core.rendering.emails import labels_for
from publisher.campaigns.archive import (
    FEED_SIZE,
    archive_entries,
    archived_campaign,
    archived_email,
    atom_feed,
    list_home,
    public_lists,
)
from publisher.web.deps import DbSession, RowId
from publisher.web.pages import templates
from subscribers.lists import public_list
from subscribers.models import MailingList

router = APIRouter(tags=["archive"])


def _list_or_404(session: Session, slug: str) -> MailingList:
    mailing_list = public_list(session, slug)
    if mailing_list is None:
        raise HTTPException(status_code=404, detail="no such archive")
    return mailing_list


def _audience(mailing_list: MailingList) -> str:
    return f"the subscribers of {mailing_list.name}"


@router.get("/archive", response_class=HTMLResponse)
def archive_home(request: Request, session: DbSession) -> HTMLResponse:
    """The public lists, each with its archive and feed."""
    context = {"title": "Archive", "lists": public_lists(session)}
    return templates.TemplateResponse(request, "archive/lists.html", context)


@router.get("/archive/{slug}/feed.atom")
def archive_feed(slug: str, session: DbSession) -> Response:
    """The list's sent campaigns as an Atom feed."""
    mailing_list = _list_or_404(session, slug)
    entries = []
    for entry in archive_entries(session, mailing_list)[:FEED_SIZE]:
        campaign = archived_campaign(session, mailing_list, entry.id)
        assert campaign is not None
        email = archived_email(
            campaign,
            campaign.language,
            audience=_audience(mailing_list),
            home_url=list_home(slug),
        )
        entries.append((entry, email))
    return Response(atom_feed(mailing_list, entries), media_type="application/atom+xml")


@router.get("/archive/{slug}", response_class=HTMLResponse)
def archive_list(request: Request, slug: str, session: DbSession) -> HTMLResponse:
    """One list's sent campaigns, newest first, with their languages."""
    mailing_list = _list_or_404(session, slug)
    context = {
        "title": f"{mailing_list.name} — archive",
        "list": mailing_list,
        "entries": archive_entries(session, mailing_list),
        "language_names": labels_for("en")["languages"],
    }
    return templates.TemplateResponse(request, "archive/list.html", context)


@router.get("/archive/{slug}/{campaign_id}", response_class=HTMLResponse)
def archive_campaign(
    request: Request, slug: str, campaign_id: RowId, session: DbSession, lang: str = ""
) -> HTMLResponse:
    """One sent campaign, in the language asked for (else its default)."""
    mailing_list = _list_or_404(session, slug)
    campaign = archived_campaign(session, mailing_list, campaign_id)
    if campaign is None or campaign.compiled is None:
        raise HTTPException(status_code=404, detail="no such campaign in this archive")
    email = archived_email(
        campaign,
        lang or campaign.language,
        audience=_audience(mailing_list),
        home_url=list_home(slug),
    )
    context = {
        "title": email.subject,
        "list": mailing_list,
        "campaign": campaign,
        "email": email,
        "languages": sorted(campaign.compiled["languages"]),
        "language_names": labels_for("en")["languages"],
    }
    return templates.TemplateResponse(request, "archive/campaign.html", context)
