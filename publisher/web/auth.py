"""Logging in and out, the first admin's setup, one's own account, and managing users."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from core.audit import record_audit
from core.settings import get_settings
from publisher.users import (
    SESSION_DAYS,
    ApiToken,
    User,
    UserError,
    all_users,
    authenticate,
    count_users,
    create_api_token,
    create_user,
    end_session,
    set_password,
    start_session,
)
from publisher.web.common import (
    SESSION_COOKIE,
    Admin,
    CurrentUser,
    DbSession,
    refuse_other_sites,
    safe_next,
    templates,
)

router = APIRouter(tags=["auth"], include_in_schema=False)
OwnSiteOnly = [Depends(refuse_other_sites)]


def _login_page(
    request: Request, *, setup: bool, status_code: int = 200, **values: str
) -> Response:
    context = {"title": "Set up" if setup else "Log in", "setup": setup, **values}
    return templates.TemplateResponse(request, "login.html", context, status_code=status_code)


def _logged_in(session: DbSession, user: User, target: str) -> RedirectResponse:
    response = RedirectResponse(safe_next(target), status_code=status.HTTP_303_SEE_OTHER)
    response.set_cookie(
        SESSION_COOKIE,
        start_session(session, user),
        max_age=SESSION_DAYS * 86400,
        httponly=True,
        secure=get_settings().base_url.startswith("https://"),
        samesite="lax",
        path="/",
    )
    return response


@router.get("/admin/login", response_class=HTMLResponse)
def login_page(request: Request, session: DbSession, next: str = "/admin") -> Response:
    """The login form (the setup form while no account exists)."""
    if count_users(session) == 0 and get_settings().env != "production":
        return RedirectResponse("/admin/setup", status_code=status.HTTP_303_SEE_OTHER)
    return _login_page(request, setup=False, next=safe_next(next))


@router.post("/admin/login", dependencies=OwnSiteOnly)
def login(
    request: Request,
    session: DbSession,
    email: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/admin",
) -> Response:
    """Check the password, start a session, go where the user was going."""
    user = authenticate(session, email, password)
    if user is None:
        # Failed attempts are counted on the account; the transaction must still commit.
        return _login_page(
            request, setup=False, status_code=401, email=email, next=safe_next(next),
            error="That email and password do not match an active account.",
        )  # fmt: skip
    record_audit(
        session, actor=user.email, action="user.login", object_type="user", object_id=user.id
    )
    return _logged_in(session, user, next)


def _refuse_setup_in_production() -> None:
    # A public server must not hand its first admin account to whoever comes first.
    if get_settings().env == "production":
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail="set HERALD_ADMIN_EMAIL and HERALD_ADMIN_PASSWORD, or run herald users create",
        )


@router.get("/admin/setup", response_class=HTMLResponse)
def setup_page(request: Request, session: DbSession) -> Response:
    """Create the first admin; gone once any account exists, and never offered in production."""
    _refuse_setup_in_production()
    if count_users(session) > 0:
        return RedirectResponse("/admin/login", status_code=status.HTTP_303_SEE_OTHER)
    return _login_page(request, setup=True, next="/admin")


@router.post("/admin/setup", dependencies=OwnSiteOnly)
def setup(
    request: Request,
    session: DbSession,
    email: Annotated[str, Form()],
    password: Annotated[str, Form()],
    name: Annotated[str, Form()] = "",
) -> Response:
    """The first admin, then logged in; refused once any account exists."""
    _refuse_setup_in_production()
    if count_users(session) > 0:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="setup is already done")
    try:
        user = create_user(session, email=email, password=password, role="admin", name=name)
    except UserError as error:
        return _login_page(
            request, setup=True, status_code=400, email=email, name=name, error=str(error)
        )
    record_audit(
        session, actor=user.email, action="user.setup", object_type="user", object_id=user.id
    )
    return _logged_in(session, user, "/admin")


@router.post("/admin/logout")
def logout(request: Request, session: DbSession, _user: CurrentUser) -> Response:
    """End this browser's session."""
    end_session(session, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/admin/login", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/admin/account", response_class=HTMLResponse)
def account_page(request: Request, session: DbSession, user: CurrentUser) -> Response:
    """Change one's password; create API tokens."""
    return _account(request, session, user.user_id)


def _account(
    request: Request, session: DbSession, user_id: int, status_code: int = 200, **extra: str
) -> Response:
    tokens = session.scalars(select(ApiToken).where(ApiToken.user_id == user_id)).all()
    context = {"title": "Account", "section": "account", "tokens": tokens, **extra}
    return templates.TemplateResponse(request, "account.html", context, status_code=status_code)


@router.post("/admin/account/password")
def change_password(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    current: Annotated[str, Form()],
    password: Annotated[str, Form()],
) -> Response:
    """A new password; every session (this one too) ends, so log in again."""
    account = authenticate(session, user.email, current)
    if account is None:
        return _account(request, session, user.user_id, 400, error="The current password is wrong.")
    try:
        set_password(session, account, password)
    except UserError as error:
        return _account(request, session, user.user_id, 400, error=str(error))
    record_audit(
        session,
        actor=user.label,
        action="user.password",
        object_type="user",
        object_id=user.user_id,
    )
    return RedirectResponse("/admin/login", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/admin/account/tokens")
def new_api_token(
    request: Request, session: DbSession, user: CurrentUser, name: Annotated[str, Form()]
) -> Response:
    """A new API token, shown once."""
    account = session.get(User, user.user_id)
    assert account is not None  # the identity was just read from it
    secret = create_api_token(session, account, name=name.strip()[:200])
    record_audit(session, actor=user.label, action="user.api_token", object_type="user",
                 object_id=user.user_id, details={"name": name})  # fmt: skip
    session.flush()
    return _account(request, session, user.user_id, new_token=secret)


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, session: DbSession, _admin: Admin, added: int = 0) -> Response:
    """Everyone who can log in, and a form to add someone."""
    return _users(request, session, notice="User added." if added else "")


def _users(request: Request, session: DbSession, status_code: int = 200, **extra: str) -> Response:
    context = {"title": "Users", "section": "users", "people": all_users(session), **extra}
    return templates.TemplateResponse(request, "admin_users.html", context, status_code=status_code)


@router.post("/admin/users")
def add_user(
    request: Request,
    session: DbSession,
    admin: Admin,
    email: Annotated[str, Form()],
    password: Annotated[str, Form()],
    role: Annotated[str, Form()] = "editor",
    name: Annotated[str, Form()] = "",
) -> Response:
    """Add an editor or an admin."""
    try:
        user = create_user(session, email=email, password=password, role=role, name=name)
    except UserError as error:
        return _users(request, session, 400, error=str(error))
    record_audit(session, actor=admin.label, action="user.create", object_type="user",
                 object_id=user.id, details={"email": user.email, "role": role})  # fmt: skip
    return RedirectResponse("/admin/users?added=1", status_code=status.HTTP_303_SEE_OTHER)
