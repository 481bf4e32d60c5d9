"""Health for load balancers and orchestrators: alive (/livez), ready (/readyz), /healthz.

Failures are answered by check name only; why a check failed goes to the log
(:mod:`core.health`), never to whoever asked.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from core.health import database_answers, failing_checks
from publisher.schema_versions import code_heads

router = APIRouter(tags=["operations"])


@router.get("/livez")
async def livez() -> JSONResponse:
    """The process is alive and serving (no database or broker is asked)."""
    return JSONResponse({"status": "ok"})


@router.get("/readyz")
async def readyz() -> JSONResponse:
    """Ready for traffic: the database answers, its migrations are at head, the broker answers."""
    failing = await run_in_threadpool(failing_checks, code_heads())
    if failing:
        return JSONResponse({"status": "unavailable", "failing": failing}, status_code=503)
    return JSONResponse({"status": "ok", "failing": []})


@router.get("/healthz")
def healthz() -> JSONResponse:
    """Alive, and the database answers (kept for the callers that use it; see /readyz)."""
    if not database_answers():
        return JSONResponse({"status": "error", "database": "error"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})
