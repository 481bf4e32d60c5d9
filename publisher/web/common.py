"""What every route shares: the request's unit of work, page templates, admin authentication."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from core.database import unit_of_work
from core.settings import get_settings, project_root

templates = Jinja2Templates(directory=str(project_root() / "templates" / "web"))
templates.env.globals["organisation_name"] = get_settings().organisation_name


def request_session() -> Iterator[Session]:
    """One unit of work per request: committed once after the route returns."""
    with unit_of_work() as session:
        yield session


# Scope "function": the commit happens before the response leaves, so no answer (a 200, a
# redirect) reaches the client before the change it reports is stored, or despite a failure.
DbSession = Annotated[Session, Depends(request_session, scope="function")]

_basic = HTTPBasic(auto_error=False)


def require_admin(
    credentials: Annotated[HTTPBasicCredentials | None, Depends(_basic)],
) -> str:
    """The admin's user name; in development with no password set, the admin is open."""
    settings = get_settings()
    if not settings.admin_password and settings.env != "production":
        return settings.admin_user
    if credentials is not None and _matches(
        credentials, settings.admin_user, settings.admin_password
    ):
        return credentials.username
    raise HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail="admin login required",
        headers={"WWW-Authenticate": 'Basic realm="Herald admin"'},
    )


def _matches(credentials: HTTPBasicCredentials, user: str, password: str) -> bool:
    # Compare both in constant time so timing says nothing about which was wrong.
    user_ok = secrets.compare_digest(credentials.username.encode(), user.encode())
    password_ok = secrets.compare_digest(credentials.password.encode(), password.encode())
    return user_ok and password_ok


Admin = Annotated[str, Depends(require_admin)]
