"""Logging in and out, the first admin's setup, one's own account, and managing users."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from core.audit import record_audit
from core.settings import get_settings
from publisher.accounts.login_throttle import login_retry_after
from publisher.accounts.models import Role, User
from publisher.accounts.service import (
    api_tokens_of,
    deactivate_user,
    reactivate_user,
    revoke_api_token,
)
from publisher.accounts.sessions import SESSION_DAYS, end_session, start_session
from publisher.accounts.tokens import create_api_token
from publisher.accounts.users import (
    SetupDone,
    UserError,
    all_users,
    authenticate,
    count_users,
    create_first_admin,
    create_user,
    set_password,
)
from publisher.web.deps import (
    SESSION_COOKIE,
    Admin,
    CurrentUser,
    DbSession,
    RowId,
    refuse_other_sites,
    safe_next,
)
from publisher.web.pages import templates

router = APIRouter(tags=["auth"], include_in_schema=False)
OwnSiteOnly = [Depends(refuse_other_sites)]


def _login_page(
    request: Request, *, setup: bool, status_code: int = 200, **values: str
) -> Response:
    context = {"title": "Set up" if setup else "Log in", "setup": setup, **values}
    return templates.TemplateResponse(
        request, "admin/accounts/login.html", context, status_code=status_code
    )


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
    wait = login_retry_after(request.client.host if request.client else "")
    if wait > 0:
        response = _login_page(
            request,
            setup=False,
            status_code=429,
            email=email,
            next=safe_next(next),
            error="Too many attempts: wait a minute.",
        )
        response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return response
    user = authenticate(session, email, password)
    if user is None:
        # Failed attempts are counted on the account; the transaction must still commit.
        return _login_page(
            request,
            setup=False,
            status_code=401,
            email=email,
            next=safe_next(next),
            error="That email and password do not match an active account.",
        )
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
    try:
        user = create_first_admin(session, email=email, password=password, name=name)
    except SetupDone as error:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=str(error)) from error
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
def account_page(
    request: Request, session: DbSession, user: CurrentUser, revoked: int = 0
) -> Response:
    """Change one's password; create, list and revoke API tokens."""
    return _account(request, session, user.user_id, notice="Token revoked." if revoked else "")


def _account(
    request: Request, session: DbSession, user_id: int, status_code: int = 200, **extra: str
) -> Response:
    tokens = [token for token, _email in api_tokens_of(session, user_id)]
    context = {"title": "Account", "section": "account", "tokens": tokens, **extra}
    return templates.TemplateResponse(
        request, "admin/accounts/account.html", context, status_code=status_code
    )


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
        tokens_ended = set_password(session, account, password)
    except UserError as error:
        return _account(request, session, user.user_id, 400, error=str(error))
    record_audit(
        session,
        actor=user.label,
        action="user.password",
        object_type="user",
        object_id=user.user_id,
        details={"api_tokens_ended": tokens_ended},
    )
    return RedirectResponse("/admin/login", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/admin/account/tokens")
def new_api_token(
    request: Request, session: DbSession, user: CurrentUser, name: Annotated[str, Form()]
) -> Response:
    """A new API token, shown once."""
    account = session.get(User, user.user_id)
    assert account is not None  # the identity was just read from it
    secret = create_api_token(session, account, name=name)
    record_audit(
        session,
        actor=user.label,
        action="user.api_token",
        object_type="user",
        object_id=user.user_id,
        details={"name": name},
    )
    session.flush()
    return _account(request, session, user.user_id, new_token=secret)


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, session: DbSession, _admin: Admin, notice: str = "") -> Response:
    """Everyone who can log in, every API token, and a form to add someone."""
    return _users(request, session, notice=USER_NOTICES.get(notice, ""))


USER_NOTICES = {
    "added": "User added.",
    "deactivated": "User deactivated: their sessions ended and their tokens are refused.",
    "reactivated": "User reactivated.",
    "revoked": "Token revoked.",
}


def _users(request: Request, session: DbSession, status_code: int = 200, **extra: str) -> Response:
    context = {
        "title": "Users",
        "section": "users",
        "people": all_users(session),
        "tokens": api_tokens_of(session),
        **extra,
    }
    return templates.TemplateResponse(
        request, "admin/accounts/users.html", context, status_code=status_code
    )


@router.post("/admin/users")
def add_user(
    request: Request,
    session: DbSession,
    admin: Admin,
    email: Annotated[str, Form()],
    password: Annotated[str, Form()],
    role: Annotated[str, Form()] = Role.EDITOR,
    name: Annotated[str, Form()] = "",
) -> Response:
    """Add an editor or an admin."""
    try:
        user = create_user(session, email=email, password=password, role=role, name=name)
    except UserError as error:
        return _users(request, session, 400, error=str(error))
    details = {"email": user.email, "role": role}
    record_audit(
        session,
        actor=admin.label,
        action="user.create",
        object_type="user",
        object_id=user.id,
        details=details,
    )
    return _to_users("added")


def _to_users(notice: str) -> RedirectResponse:
    return RedirectResponse(f"/admin/users?notice={notice}", status_code=status.HTTP_303_SEE_OTHER)


def _user(session: DbSession, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no user {user_id}")
    return user


@router.post("/admin/users/{user_id}/deactivate")
def deactivate(request: Request, user_id: RowId, session: DbSession, admin: Admin) -> Response:
    """Deactivate a user: their sessions end and their tokens are refused at once."""
    try:
        deactivate_user(session, _user(session, user_id), actor=admin.label)
    except UserError as error:
        session.rollback()
        return _users(request, session, 409, error=str(error))
    return _to_users("deactivated")


@router.post("/admin/users/{user_id}/reactivate")
def reactivate(user_id: RowId, session: DbSession, admin: Admin) -> Response:
    """Let a deactivated user log in again."""
    reactivate_user(session, _user(session, user_id), actor=admin.label)
    return _to_users("reactivated")


@router.post("/admin/tokens/{token_id}/revoke")
def revoke_token(
    token_id: RowId, session: DbSession, user: CurrentUser, back: Annotated[str, Form()] = ""
) -> Response:
    """End an API token at once: one's own, or (admins) anyone's."""
    try:
        revoke_api_token(session, token_id, actor=user.label, by=user)
    except UserError as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(error)) from error
    if back == "users" and user.is_admin:
        return _to_users("revoked")
    return RedirectResponse("/admin/account?revoked=1", status_code=status.HTTP_303_SEE_OTHER)
