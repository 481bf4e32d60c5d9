"""The web process: the FastAPI app, its error answers and health check; the URL map is
:mod:`publisher.web.routes`."""

from __future__ import annotations

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import OperationalError

from core.database import is_lock_timeout, ping, unit_of_work
from publisher.web.deps import LoginRequired, login_redirect
from publisher.web.input_guard import refuse_nul_characters
from publisher.web.routes import include_routes

RETRY_AFTER_SECONDS = 5


def create_app() -> FastAPI:
    """The Herald web application (OpenAPI at /docs)."""
    application = FastAPI(
        title="Herald",
        summary="Newsletters and publication workflow: posts, announcements, digests.",
        version="0.1.0",
        dependencies=[Depends(refuse_nul_characters)],
    )
    include_routes(application)

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
