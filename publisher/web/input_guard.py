"""Refusing NUL characters at the door: 422 for any request that carries one in its text.

PostgreSQL text cannot hold U+0000, and no title, name, comment, URL or search has a use
for it, so a NUL anywhere in the path, the query, a form field or a JSON string is refused
before any route runs (uploaded files are left to their importers, which reject the row;
provider webhooks read and verify their raw body themselves).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import HTTPException, Request, status
from starlette.datastructures import UploadFile

NUL = "\x00"
RAW_BODY_PREFIXES = ("/webhooks/",)
"""Routes that read their body themselves (provider webhooks): only path and query here."""
_REFUSED = "the request contains a NUL character (U+0000), which Herald cannot store"


async def refuse_nul_characters(request: Request) -> None:
    """Answer 422 when the path, query, a form field or a JSON string holds a NUL."""
    if NUL in request.url.path or _in_pairs(request.query_params.multi_items()):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=_REFUSED)
    if request.url.path.startswith(RAW_BODY_PREFIXES):
        return  # read as sent, with a size limit, and verified before anything is parsed
    kind = request.headers.get("content-type", "")
    if kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = (await request.form()).multi_items()
        fields = [(key, value) for key, value in form if not isinstance(value, UploadFile)]
        if _in_pairs(fields):
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=_REFUSED)
    elif "json" in kind:
        body = await request.body()
        # Only a body that spells the escape can hold one; most never pay for a parse.
        if b"\\u0000" in body and _in_json(body):
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=_REFUSED)


def _in_pairs(pairs: list[tuple[str, Any]]) -> bool:
    return any(NUL in key or NUL in str(value) for key, value in pairs)


def _in_json(body: bytes) -> bool:
    try:
        document = json.loads(body)  # as FastAPI parses it (lone surrogates included)
    except ValueError:
        return False  # not JSON: the route's own parsing answers that
    return _holds_nul(document)


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(NUL in key or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False
