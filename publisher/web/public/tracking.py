"""The open pixel and click redirects that our own tracking puts in campaign emails.

The pixel always answers with the image, whatever the token: a broken image in a reader's
email helps nobody. A click token that was forged or altered, or names a link its email did
not have, gets a page saying so, never a redirect.
"""

from __future__ import annotations

import base64
import logging

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.exc import SQLAlchemyError

from core.database import unit_of_work, utcnow
from core.tokens import InvalidToken
from publisher.tracking.links import read_click_token, read_open_token, record_click, record_open
from publisher.tracking.machines import Hit
from publisher.web.deps import DbSession
from publisher.web.pages import templates

log = logging.getLogger(__name__)

router = APIRouter(tags=["tracking"])

PIXEL_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
"""A 1×1 transparent GIF."""
NO_STORE = {"Cache-Control": "no-store, no-cache, must-revalidate, max-age=0", "Pragma": "no-cache"}


def hit_from(request: Request) -> Hit:
    """What a tracking request says about who made it."""
    headers = request.headers
    return Hit(
        at=utcnow(),
        method=request.method,
        user_agent=headers.get("user-agent", ""),
        purpose=headers.get("sec-purpose") or headers.get("purpose") or "",
    )


@router.get("/t/o/{token}.gif", response_class=Response)
def open_pixel(request: Request, token: str) -> Response:
    """The pixel; a valid token's open is recorded first."""
    try:
        delivery_id = read_open_token(token)
    except InvalidToken:
        delivery_id = None
    if delivery_id is not None:
        _record_open(delivery_id, hit_from(request))
    return Response(PIXEL_GIF, media_type="image/gif", headers=NO_STORE)


def _record_open(delivery_id: int, hit: Hit) -> None:
    # Its own unit of work, committed before the image leaves; a failure costs one open,
    # never the reader's image.
    try:
        with unit_of_work() as session:
            record_open(session, delivery_id, hit)
    except SQLAlchemyError:
        log.exception("recording an open of delivery %s failed", delivery_id)


@router.get("/t/c/{token}", response_class=Response)
def click(request: Request, token: str, session: DbSession) -> Response:
    """Record the click, then redirect to the link's original URL in that email."""
    try:
        delivery_id, link = read_click_token(token)
    except InvalidToken:
        return _invalid_link(request)
    url = record_click(session, delivery_id, link, hit_from(request))
    if url is None:
        return _invalid_link(request)
    return RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})


# Link scanners check links with HEAD: answered alike, and recorded as machines.
router.add_api_route("/t/o/{token}.gif", open_pixel, methods=["HEAD"], include_in_schema=False)
router.add_api_route("/t/c/{token}", click, methods=["HEAD"], include_in_schema=False)


def _invalid_link(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "public/invalid_link.html", {"title": "This link is not valid"}, status_code=400
    )
