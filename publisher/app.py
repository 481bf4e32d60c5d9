"""The web process: FastAPI app with admin pages, JSON API, public pages and health check."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy import text

from core.database import unit_of_work
from publisher.web import admin, public, tracking, webhooks


def create_app() -> FastAPI:
    """The Herald web application (OpenAPI at /docs)."""
    application = FastAPI(
        title="Herald",
        summary="Newsletters and publication workflow: posts, announcements, digests.",
        version="0.1.0",
    )
    application.include_router(public.router)
    application.include_router(admin.router)
    application.include_router(webhooks.router)
    application.include_router(tracking.router)

    @application.get("/healthz", tags=["operations"])
    def healthz() -> JSONResponse:
        """Alive, and the database answers."""
        try:
            with unit_of_work() as session:
                session.execute(text("SELECT 1"))
        except Exception as error:  # any database failure means unhealthy
            return JSONResponse({"status": "error", "database": str(error)}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    @application.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/admin")

    return application


app = create_app()
