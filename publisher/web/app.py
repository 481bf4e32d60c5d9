"""The web process: the FastAPI app, its logging, middleware and error answers; the URL map
is :mod:`publisher.web.routes`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import OperationalError
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from core.database import is_lock_timeout
from core.logs import configure_logging
from core.settings import get_settings
from publisher.web.access import RequestContext
from publisher.web.deps import LoginRequired, login_redirect
from publisher.web.input_guard import refuse_nul_characters
from publisher.web.routes import include_routes

RETRY_AFTER_SECONDS = 5

log = logging.getLogger(__name__)


@asynccontextmanager
async def _lifespan(_app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    # What this process runs against, without credentials: the first line to read in a log.
    log.info(
        "web process ready: env %s, database %s, broker %s",
        settings.env,
        settings.database_url.partition(":")[0],
        settings.broker_url.partition(":")[0],
    )
    yield


def create_app() -> FastAPI:
    """The Herald web application (OpenAPI at /docs)."""
    settings = get_settings()
    configure_logging(settings)
    application = FastAPI(
        title="Herald",
        summary="Newsletters and publication workflow: posts, announcements, digests.",
        version="0.1.0",
        dependencies=[Depends(refuse_nul_characters)],
        lifespan=_lifespan,
    )
    include_routes(application)
    application.add_middleware(RequestContext)
    if settings.trusted_proxies:
        # Added last, so it runs first: the access line and every route see the client's
        # address. uvicorn's own proxy handling is off (web_command) so this setting decides.
        application.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)

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

    @application.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/admin")

    return application


app = create_app()
