"""Public subscriber pages: subscribe forms and JSON, confirmation; admins' privacy API.

The subscribe form (``/subscribe/{slug}``, also embeddable on another site) and the JSON
endpoint give the same answer whatever Herald knows about the address, in the same time
(the address-dependent work runs after the response); a honeypot field, and limits per
client IP and per address, keep robots out. Private lists have neither.
Confirmation links open a page with a button: link scanners fetch every GET, and only a
person's click may count as consent.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from core.database import unit_of_work
from core.settings import get_settings
from core.tokens import InvalidToken
from publisher.audience.privacy import erase_address, export_address
from publisher.web.deps import Admin, DbSession
from publisher.web.pages import templates
from subscribers import consent, throttle
from subscribers.addresses import InvalidAddress, normalise_address
from subscribers.lists import LANGUAGES, public_list
from subscribers.models import MailingList
from subscribers.subscribe import Signup, subscribe
from subscribers.suppression import lift_suppression

log = logging.getLogger(__name__)
router = APIRouter(tags=["subscribers"])
ACCEPTED = {
    "double": "Almost done: check your inbox and confirm with the link we sent you.",
    "single": "Thank you! Check your inbox: a message from us is on its way.",
}
"""The one answer per opt-in mode, whatever Herald knows about the address."""


class SubscribeIn(BaseModel):
    """A signup through the JSON API."""

    email: str = Field(max_length=320)
    name: str = Field("", max_length=200)
    language: str = Field("", max_length=16)
    timezone: str = Field("", max_length=64)
    topics: list[str] = Field(default_factory=list, max_length=50)
    website: str = Field("", description="Leave empty (a field only robots fill in).")


class SubscribeOut(BaseModel):
    """The answer to every accepted signup, known address or not."""

    status: str = "accepted"
    message: str


class AddressIn(BaseModel):
    """One address, for a privacy request."""

    email: str = Field(max_length=320)


class UnsuppressIn(AddressIn):
    """Lifting a suppression: the address and why (kept in the audit log)."""

    reason: str = Field(min_length=1, max_length=500, pattern=r"\S")


def _list_or_404(session: Session, slug: str) -> MailingList:
    found = public_list(session, slug)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such list")
    return found


def _ip(request: Request) -> str:
    return request.client.host if request.client else ""


def _signup(
    session: Session, mailing_list: MailingList, signup: Signup, later: BackgroundTasks
) -> str:
    """Subscribe within the limits: "" when accepted (or ignored), else why not (raises 429).

    The answer is given before anything depends on the address: what Herald knows about it
    (new, waiting, confirmed, suppressed) takes different work, and doing that work before
    answering would let the time of the answer tell. It runs after the response is sent.
    """
    try:
        email: str | None = normalise_address(signup.email)
    except InvalidAddress:
        email = None
    wait = throttle.retry_after(ip=signup.ip, email=email)
    if wait > 0:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail="Too many attempts: please try again in a few minutes.",
            headers={"Retry-After": str(max(1, round(wait)))},
        )
    if email is None:
        return "That does not look like an email address. Please check it."
    later.add_task(subscribe_after_response, mailing_list.id, signup)
    return ""


def subscribe_after_response(list_id: int, signup: Signup) -> None:
    """Act on an accepted signup in its own unit of work, once the answer has left."""
    try:
        with unit_of_work() as session:
            mailing_list = session.get(MailingList, list_id)
            if mailing_list is not None:
                subscribe(session, mailing_list, signup)
    except Exception:
        # The person already has their answer; the signup is lost, loudly, not silently.
        log.exception("a signup to list %s could not be stored", list_id)


def _form_page(
    request: Request, mailing_list: MailingList, *, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    context = {
        "title": mailing_list.name,
        "list": mailing_list,
        "languages": LANGUAGES,
        "done": False,
        "error": "",
        "values": {},
        **extra,
    }
    return templates.TemplateResponse(
        request, "public/subscribe.html", context, status_code=status_code
    )


@router.get("/subscribe/{slug}", response_class=HTMLResponse)
def subscribe_page(request: Request, slug: str, session: DbSession) -> HTMLResponse:
    """The public subscribe form of a list."""
    return _form_page(request, _list_or_404(session, slug))


@router.get("/subscribe/{slug}/embed", response_class=HTMLResponse)
def embed_snippet(request: Request, slug: str, session: DbSession) -> HTMLResponse:
    """The list's form as an HTML snippet to paste into another site's page."""
    context = {"list": _list_or_404(session, slug), "base_url": get_settings().base_url}
    return templates.TemplateResponse(request, "public/embed_form.html", context)


@router.post("/subscribe/{slug}", response_class=HTMLResponse)
def subscribe_form(
    request: Request,
    slug: str,
    session: DbSession,
    later: BackgroundTasks,
    email: Annotated[str, Form(max_length=320)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    language: Annotated[str, Form(max_length=16)] = "",
    timezone: Annotated[str, Form(max_length=64)] = "",
    topics: Annotated[list[str] | None, Form()] = None,
    website: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """Subscribe from the form (ours or an embedded copy): the same page for any address."""
    mailing_list = _list_or_404(session, slug)
    values = {"email": email, "name": name, "language": language, "topics": topics or []}
    if website:  # the honeypot: answer as if done, do nothing
        return _form_page(request, mailing_list, done=True, message=ACCEPTED[mailing_list.opt_in])
    signup = Signup(
        email=email,
        name=name,
        language=language,
        timezone=timezone,
        topics=tuple(topics or ()),
        source="form",
        page=request.headers.get("referer") or str(request.url),
        ip=_ip(request),
    )
    try:
        error = _signup(session, mailing_list, signup, later)
    except HTTPException as refused:
        page = _form_page(
            request,
            mailing_list,
            status_code=refused.status_code,
            error=refused.detail,
            values=values,
        )
        page.headers.update(refused.headers or {})
        return page
    if error:
        return _form_page(request, mailing_list, status_code=400, error=error, values=values)
    return _form_page(request, mailing_list, done=True, message=ACCEPTED[mailing_list.opt_in])


@router.post("/api/subscribe/{slug}", status_code=status.HTTP_202_ACCEPTED)
def subscribe_json(
    request: Request, slug: str, body: SubscribeIn, session: DbSession, later: BackgroundTasks
) -> SubscribeOut:
    """Subscribe through the API: 202 with the same answer for any address."""
    mailing_list = _list_or_404(session, slug)
    answer = SubscribeOut(message=ACCEPTED[mailing_list.opt_in])
    if body.website:
        return answer
    signup = Signup(
        email=body.email,
        name=body.name,
        language=body.language,
        timezone=body.timezone,
        topics=tuple(body.topics),
        source="api",
        page=request.headers.get("referer", ""),
        ip=_ip(request),
    )
    error = _signup(session, mailing_list, signup, later)
    if error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=error)
    return answer


def _confirm_page(request: Request, token: str, outcome: consent.Confirmation) -> HTMLResponse:
    context = {"title": "Confirm your subscription", "token": token, "about": outcome}
    code = 400 if outcome.outcome in ("stale", "expired") else 200
    return templates.TemplateResponse(request, "public/confirm.html", context, status_code=code)


def _confirmation(request: Request, token: str, act: Any) -> HTMLResponse:
    try:
        return _confirm_page(request, token, act())
    except consent.LinkExpired:
        return _confirm_page(request, token, consent.Confirmation("expired"))
    except InvalidToken:
        return templates.TemplateResponse(
            request,
            "public/invalid_link.html",
            {"title": "This link is not valid"},
            status_code=400,
        )


@router.get("/confirm/{token}", response_class=HTMLResponse)
def confirm_page(request: Request, token: str, session: DbSession) -> HTMLResponse:
    """The page a confirmation link opens: one button; nothing changes until it is pressed."""
    return _confirmation(request, token, lambda: consent.describe_confirmation(session, token))


@router.post("/confirm/{token}", response_class=HTMLResponse)
def confirm_now(request: Request, token: str, session: DbSession) -> HTMLResponse:
    """Confirm the subscription (consent recorded once; pressing again changes nothing)."""
    ip = _ip(request)
    return _confirmation(request, token, lambda: consent.confirm(session, token, ip=ip))


def _address(raw: str) -> str:
    try:
        return normalise_address(raw)
    except InvalidAddress as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(error)) from error


@router.post("/api/subscribers/export-data")
def export_data(body: AddressIn, session: DbSession, _admin: Admin) -> JSONResponse:
    """Everything Herald holds on one address (a POST: addresses stay out of URLs and logs)."""
    return JSONResponse(export_address(session, _address(body.email)))


@router.post("/api/subscribers/erase")
def erase(body: AddressIn, session: DbSession, admin: Admin) -> dict[str, Any]:
    """Forget an address: only its hash stays, suppressed."""
    erasure = erase_address(session, _address(body.email), actor=admin.label)
    return {
        "erased": True,
        "subscriber_id": erasure.subscriber_id,
        "email_hash": erasure.email_hash,
    }


@router.post("/api/subscribers/unsuppress")
def unsuppress(body: UnsuppressIn, session: DbSession, admin: Admin) -> Response:
    """Lift a suppression (audited with the reason); 404 when the address was not suppressed."""
    was = lift_suppression(session, _address(body.email), actor=admin.label, reason=body.reason)
    if not was:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="that address is not suppressed")
    return JSONResponse({"lifted": True, "was": was})
