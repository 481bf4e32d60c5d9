"""Public pages: unsubscribe (RFC 8058 one-click POST, GET shows a button), the preference
centre, posts.

A GET never changes anything: link scanners fetch every GET in an email. The unsubscribe
POST reads no body (RFC 8058's ``List-Unsubscribe=One-Click``, an empty one and the page's
button all do the same), needs no cookie and answers 200 with a short page, never a
redirect. Both pages take the signed token of any email, however old.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.rendering.content import markdown_to_html
from core.settings import get_settings
from core.tokens import InvalidToken
from publisher.posts.models import Post, PostStatus
from publisher.web.deps import DbSession, templates
from subscribers.lists import LANGUAGES
from subscribers.preferences import leave_everything, preferences, save_preferences
from subscribers.unsubscribe import (
    UnsubscribeOutcome,
    UnsubscribeRequest,
    describe_request,
    read_unsubscribe_token,
    unsubscribe,
)

router = APIRouter(include_in_schema=True)


def _invalid_link(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "invalid_link.html", {"title": "This link is not valid"}, status_code=400
    )


def _resolve(session: Session, token: str) -> tuple[UnsubscribeRequest, UnsubscribeOutcome] | None:
    """The request a token carries and whom it concerns; None for a forged or stale token."""
    try:
        wanted = read_unsubscribe_token(token)
        return wanted, describe_request(session, wanted)
    except InvalidToken:
        return None


@router.get("/unsubscribe/{token}", response_class=HTMLResponse, tags=["subscribers"])
def unsubscribe_page(request: Request, token: str, session: DbSession) -> HTMLResponse:
    """A page with one button; nothing changes until it is pressed."""
    resolved = _resolve(session, token)
    if resolved is None:
        return _invalid_link(request)
    context = {"title": "Unsubscribe", "about": resolved[1], "token": token, "done": False}
    return templates.TemplateResponse(request, "unsubscribe.html", context)


@router.post("/unsubscribe/{token}", response_class=HTMLResponse, tags=["subscribers"])
def unsubscribe_now(request: Request, token: str, session: DbSession) -> HTMLResponse:
    """One-click unsubscribe (RFC 8058) and the page's button: at once, idempotent, no redirect."""
    resolved = _resolve(session, token)
    if resolved is None:
        return _invalid_link(request)
    wanted = resolved[0]
    via = f"campaign:{wanted.campaign_id}" if wanted.campaign_id else "link"
    about = unsubscribe(session, wanted, source=f"unsubscribe link ({via})")
    context = {"title": "Unsubscribed", "about": about, "token": token, "done": True}
    return templates.TemplateResponse(request, "unsubscribe.html", context)


PREFERENCE_NOTICES = {
    "saved": "Your choices are saved.",
    "left": "You are unsubscribed from everything. You can join a list again below.",
}


@router.get("/preferences/{token}", response_class=HTMLResponse, tags=["subscribers"])
def preferences_page(
    request: Request, token: str, session: DbSession, done: str = ""
) -> HTMLResponse:
    """The subscriber's lists, topics and language, to change or leave (no login)."""
    resolved = _resolve(session, token)
    if resolved is None:
        return _invalid_link(request)
    context = {
        "title": "Your subscriptions",
        "token": token,
        "languages": LANGUAGES,
        "prefs": preferences(session, resolved[0].subscriber_id),
        "notice": PREFERENCE_NOTICES.get(done, ""),
    }
    return templates.TemplateResponse(request, "preferences.html", context)


@router.post("/preferences/{token}", tags=["subscribers"])
def save_preferences_form(
    request: Request,
    token: str,
    session: DbSession,
    action: Annotated[str, Form()] = "save",
    lists: Annotated[list[int] | None, Form()] = None,
    topics: Annotated[list[str] | None, Form()] = None,
    language: Annotated[str, Form()] = "",
) -> Response:
    """Save the preference form, or leave every list; then show the page again."""
    resolved = _resolve(session, token)
    if resolved is None:
        return _invalid_link(request)
    wanted = resolved[0]
    if action == "leave":
        leave_everything(session, wanted.subscriber_id, campaign_id=wanted.campaign_id)
    else:
        chosen: dict[int, list[str]] = {list_id: [] for list_id in lists or ()}
        for value in topics or ():
            list_id, _, topic = value.partition(":")
            if list_id.isdigit() and int(list_id) in chosen:
                chosen[int(list_id)].append(topic)
        save_preferences(
            session,
            wanted.subscriber_id,
            lists=chosen,
            language=language,
            ip=request.client.host if request.client else "",
            page=f"{get_settings().base_url.rstrip('/')}/preferences",
            campaign_id=wanted.campaign_id,
        )
    done = "left" if action == "leave" else "saved"
    return RedirectResponse(f"/preferences/{token}?done={done}", status_code=303)


@router.get("/posts/{slug}", response_class=HTMLResponse, tags=["posts"])
def post_page(request: Request, slug: str, session: DbSession) -> HTMLResponse:
    """A published post, in full."""
    post = session.scalars(
        select(Post).where(Post.slug == slug, Post.status == PostStatus.PUBLISHED).order_by(Post.id)
    ).first()
    if post is None:
        raise HTTPException(status_code=404, detail="no such post")
    context = {"title": post.title, "post": post, "body_html": markdown_to_html(post.body)}
    return templates.TemplateResponse(request, "post.html", context)
