"""Public pages: unsubscribe (RFC 8058 one-click POST, GET shows a button), preferences, posts.

A GET never changes anything: link scanners fetch every GET in an email.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.tokens import InvalidToken
from publisher.content import markdown_to_html
from publisher.models import Post
from publisher.web.common import DbSession, templates
from subscribers.models import MailingList, Subscription
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


@router.get("/preferences/{token}", response_class=HTMLResponse, tags=["subscribers"])
def preferences_page(request: Request, token: str, session: DbSession) -> HTMLResponse:
    """The subscriber's lists and their status, with a way to leave them."""
    resolved = _resolve(session, token)
    if resolved is None:
        return _invalid_link(request)
    wanted, about = resolved
    rows = session.execute(
        select(MailingList.name, Subscription.status)
        .join(Subscription, Subscription.list_id == MailingList.id)
        .where(Subscription.subscriber_id == wanted.subscriber_id)
        .order_by(MailingList.name)
    ).all()
    context = {"title": "Your subscriptions", "about": about, "token": token, "lists": rows}
    return templates.TemplateResponse(request, "preferences.html", context)


@router.get("/posts/{slug}", response_class=HTMLResponse, tags=["posts"])
def post_page(request: Request, slug: str, session: DbSession) -> HTMLResponse:
    """A published post, in full."""
    post = session.scalars(
        select(Post).where(Post.slug == slug, Post.status == "published").order_by(Post.id)
    ).first()
    if post is None:
        raise HTTPException(status_code=404, detail="no such post")
    context = {"title": post.title, "post": post, "body_html": markdown_to_html(post.body)}
    return templates.TemplateResponse(request, "post.html", context)
