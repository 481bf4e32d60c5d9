"""What every route shares: the request's unit of work, who is asking, and the guards.

Admin pages use a login session (an HttpOnly cookie); the JSON API also takes
``Authorization: Bearer <token>``. Browsers send cookies along with requests that other
sites make them send, so every state-changing request made with the cookie must carry the
session's CSRF token (a hidden form field ``csrf_token`` or the ``X-CSRF-Token`` header),
and must not come from another site's page (Origin, else Referer). Bearer tokens are never
sent by a browser on its own, so they need neither.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, HTTPException, Request, status
from pydantic import AfterValidator, Field, WithJsonSchema
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from core.database import unit_of_work, utcnow
from core.settings import get_settings
from publisher.accounts.identity import Identity
from publisher.accounts.sessions import identity_for_session
from publisher.accounts.tokens import identity_for_api_token

MAX_ROW_ID = 2**31 - 1
"""The largest id a row can have: the ids are PostgreSQL ``integer`` columns."""
SESSION_COOKIE = "herald_session"
CSRF_FIELD = "csrf_token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def request_session() -> Iterator[Session]:
    """One unit of work per request: committed once after the route returns."""
    with unit_of_work(web=True) as session:
        yield session


# Scope "function": the commit happens before the response leaves, so no answer (a 200, a
# redirect) reaches the client before the change it reports is stored, or despite a failure.
DbSession = Annotated[Session, Depends(request_session, scope="function")]


async def submitted_form(request: Request) -> FormData:
    """The request's form, read on the event loop for a sync route; reads no database.

    Every route and dependency that touches the database is sync (FastAPI runs it in its
    threadpool): a blocking call on the event loop stops every request, /healthz too.
    """
    return await request.form()  # Starlette keeps the parsed form for later readers


SubmittedForm = Annotated[FormData, Depends(submitted_form)]
"""The request's form fields, for routes that read fields by computed names."""


async def submitted_csrf(request: Request) -> str | None:
    """The CSRF token an unsafe cookie request carries (header, else form field), if any."""
    if request.method in _SAFE_METHODS or _bearer_secret(request):
        return None
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    return sent


def _row_id_or_404(value: int) -> int:
    # Raised from validation on purpose: pydantic passes anything but ValueError through,
    # so an id no row can have is "not found", never a 422 or the database's overflow.
    if not 1 <= value <= MAX_ROW_ID:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="not found")
    return value


RowId = Annotated[
    int,
    AfterValidator(_row_id_or_404),
    WithJsonSchema({"type": "integer", "minimum": 1, "maximum": MAX_ROW_ID}),
]
"""The type of every ``{…_id}`` path parameter: ids outside 1…2³¹−1 answer 404."""
IdValue = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]
"""An id given in a JSON body or a form field: outside 1…2³¹−1 it is a 422."""


class LoginRequired(Exception):
    """No valid session or token: pages redirect to the login form, the API answers 401."""


def login_redirect(request: Request) -> str:
    """The login page's URL, coming back to this page afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/admin/login?next={quote(target, safe='')}"


def current_identity(
    request: Request,
    session: DbSession,
    sent_csrf: Annotated[str | None, Depends(submitted_csrf)],
) -> Identity:
    """The signed-in user (cookie or bearer token); CSRF-checked on unsafe cookie requests."""
    identity = _bearer_identity(request) or _cookie_identity(request, session)
    if identity is None:
        raise LoginRequired
    request.state.identity = identity
    if identity.via == "session" and request.method not in _SAFE_METHODS:
        refuse_other_sites(request)
        expected = identity.csrf_token.encode()
        # Bytes: compare_digest refuses (TypeError, a 500) str with non-ASCII characters.
        if not sent_csrf or not secrets.compare_digest(sent_csrf.encode(), expected):
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail="missing or wrong CSRF token")
    return identity


def _bearer_secret(request: Request) -> str:
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    return secret.strip() if scheme.lower() == "bearer" else ""


def _bearer_identity(request: Request) -> Identity | None:
    secret = _bearer_secret(request)
    if not secret:
        return None
    # Its own short unit of work, over before the request's begins: noting the token's use
    # must never hold a row lock for the length of a request, nor a second connection.
    with unit_of_work(web=True) as session:
        identity = identity_for_api_token(session, secret, now=utcnow())
    if identity is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="invalid API token")
    return identity


def _cookie_identity(request: Request, session: Session) -> Identity | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    return identity_for_session(session, cookie) if cookie else None


def require_admin(identity: Annotated[Identity, Depends(current_identity)]) -> Identity:
    """The signed-in user, who must be an admin (403 for an editor)."""
    if not identity.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="admins only")
    return identity


CurrentUser = Annotated[Identity, Depends(current_identity)]
"""Any signed-in user: an editor or an admin."""
Admin = Annotated[Identity, Depends(require_admin)]
"""A signed-in admin."""


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _sender_origin(request: Request) -> str | None:
    """The origin the browser says the request comes from (Origin, else Referer), if any."""
    origin = request.headers.get("origin")
    if origin is not None:
        return origin.lower()
    referer = request.headers.get("referer")
    return _origin_of(referer) if referer else None


def refuse_other_sites(request: Request) -> None:
    """Refuse a request made by another site's page (scripts send no Origin and pass)."""
    sender = _sender_origin(request)
    own = {_origin_of(get_settings().base_url), _origin_of(str(request.base_url))}
    if sender is not None and sender not in own:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="cross-site request refused")


def safe_next(target: str | None) -> str:
    """A post-login destination on this site only (never an open redirect)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/admin"
    return target
