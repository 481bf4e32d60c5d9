"""The sandbox's own endpoints under ``/_sandbox``: counts, messages, recipients, faults, reset.

Faults never apply here.
"""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from sandbox.state import Sandbox, json_response


def control_routes(sandbox: Sandbox) -> APIRouter:
    """The ``/_sandbox`` endpoints of ``sandbox``."""
    router = APIRouter(prefix="/_sandbox")

    @router.get("/stats")
    async def stats() -> Response:
        return json_response(sandbox.mailroom.stats())

    @router.get("/messages")
    async def messages() -> Response:
        return json_response(sandbox.mailroom.messages())

    @router.get("/recipients")
    async def recipients(campaign_id: str) -> Response:
        return json_response(sandbox.mailroom.recipients(campaign_id))

    @router.get("/faults")
    async def faults() -> Response:
        return json_response(sandbox.faults.settings.model_dump())

    @router.post("/faults")
    async def change_faults(request: Request) -> Response:
        try:
            changes = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            changes = None
        if not isinstance(changes, dict):
            return json_response({"detail": "expected a JSON object of fault settings"}, 422)
        try:
            settings = sandbox.faults.update(changes)
        except ValidationError as error:
            detail = error.errors(include_url=False, include_context=False, include_input=False)
            return json_response({"detail": detail}, 422)
        return json_response(settings.model_dump())

    @router.post("/reset")
    async def reset() -> Response:
        sandbox.reset()
        return json_response({"reset": True})

    return router
