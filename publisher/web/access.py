"""Each request's id and its access-log line, with the tokens in its URL redacted.

The request id is the caller's ``X-Request-ID`` when it is a short, plain string, else a new
one; it is answered in the response's ``X-Request-ID``, written on every log line of the
request and carried into the tasks the request enqueues. The access line is Herald's own
(uvicorn's is off): unsubscribe, preference, confirmation and tracking links carry tokens
that act for a subscriber, and a log is no place for them.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from urllib.parse import parse_qsl, quote

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.logs import request_id

REQUEST_ID_HEADER = "X-Request-ID"
REDACTED = "…"

access_log = logging.getLogger("herald.access")

_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# The paths whose last segment is a token (the open pixel keeps its ".gif").
_TOKEN_PATH = re.compile(r"^/(confirm|preferences|unsubscribe|t/c|t/o)/[^/]+?(\.gif)?$")
_TOKEN_PARAMETERS = frozenset({"token", "t", "sig", "signature", "key"})


def redacted_target(path: str, query: str) -> str:
    """``path?query`` with every token in it replaced by ``…``."""
    path = _TOKEN_PATH.sub(lambda match: f"/{match[1]}/{REDACTED}{match[2] or ''}", path)
    if not query:
        return path
    every = _TOKEN_PATH.match(path) is not None  # a token link's parameters go with its token
    pairs = [
        f"{quote(name)}={REDACTED if every or name in _TOKEN_PARAMETERS else quote(value)}"
        for name, value in parse_qsl(query, keep_blank_values=True)
    ]
    return f"{path}?{'&'.join(pairs)}"


def incoming_request_id(value: str | None) -> str:
    """The caller's request id when it is safe to log and echo, else a new one."""
    if value and _SAFE_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


class RequestContext:
    """ASGI middleware: the request id (header, log lines, tasks) and the access line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request inside its request id, then log it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"")
        current = incoming_request_id(header.decode("latin-1"))
        reset = request_id.set(current)
        started = time.perf_counter()
        status = 500  # what the client gets when the app raises before answering

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, current)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _log_access(scope, status, time.perf_counter() - started)
        # Only on success: after an error, the server's own line about it (uvicorn logs it
        # once the app has raised, in this request's context) keeps the request id.
        request_id.reset(reset)


def _log_access(scope: Scope, status: int, seconds: float) -> None:
    client = scope.get("client")
    target = redacted_target(scope["path"], scope.get("query_string", b"").decode("latin-1"))
    access_log.info(
        '%s - "%s %s HTTP/%s" %d %.1fms',
        client[0] if client else "-",
        scope["method"],
        target,
        scope.get("http_version", "1.1"),
        status,
        seconds * 1000,
        extra={"http": {"method": scope["method"], "target": target, "status": status}},
    )
