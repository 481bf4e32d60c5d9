"""The web process: FastAPI app with admin pages, JSON API, public pages and health check."""

from __future__ import annotations

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import OperationalError

from core.database import is_lock_timeout, ping, unit_of_work
from publisher.web import metrics
from publisher.web.admin import accounts as auth
from publisher.web.admin import posts as admin_posts
from publisher.web.admin import progress as admin
from publisher.web.admin import stats
from publisher.web.admin import subscribers as admin_subscribers
from publisher.web.deps import LoginRequired, login_redirect
from publisher.web.input_guard import refuse_nul_characters
from publisher.web.public import archive, subscribe, tracking
from publisher.web.public import preferences as public
from publisher.web.public import provider_webhooks as webhooks

RETRY_AFTER_SECONDS = 5


def create_app() -> FastAPI:
    """The Herald web application (OpenAPI at /docs)."""
    application = FastAPI(
        title="Herald",
        summary="Newsletters and publication workflow: posts, announcements, digests.",
        version="0.1.0",
        dependencies=[Depends(refuse_nul_characters)],
    )
    application.include_router(public.router)
    application.include_router(subscribe.router)
    application.include_router(archive.router)
    application.include_router(auth.router)
    application.include_router(admin_posts.router)
    application.include_router(admin_subscribers.router)
    application.include_router(stats.router)
    application.include_router(metrics.router)
    application.include_router(admin.router)
    application.include_router(webhooks.router)
    application.include_router(tracking.router)

    @application.exception_handler(LoginRequired)
    def login_required(request: Request, _error: LoginRequired) -> Response:
        """Pages send the browser to the login form; the API answers 401."""
        if request.url.path.startswith("/api/") or request.method not in ("GET", "HEAD"):
            return JSONResponse(
                {"detail": "login required"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="Herald"'},
            )
        return RedirectResponse(login_redirect(request), status_code=303)

    @application.exception_handler(OperationalError)
    def database_busy(_request: Request, error: OperationalError) -> Response:
        """A lock or statement timeout is a busy moment, not a bug: ask to come back."""
        if not is_lock_timeout(error):
            raise error
        return JSONResponse(
            {"detail": "the database is busy; try again shortly"},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    @application.get("/healthz", tags=["operations"])
    def healthz() -> JSONResponse:
        """Alive, and the database answers."""
        try:
            with unit_of_work(web=True) as session:
                ping(session)
        except Exception as error:  # any database failure means unhealthy
            return JSONResponse({"status": "error", "database": str(error)}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    @application.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/admin")

    return application


app = create_app()
